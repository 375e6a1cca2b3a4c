"""Flask application: serves the page, the shipped model, a locally vendored onnxruntime-web, and the rooms
(WebRTC signalling) for sharing the picture."""
import mimetypes

from flask import Flask

from webapp.config import Config

# Python's table lacks or varies on these; browsers refuse a module script or a streaming-compiled
# wasm served with the wrong type.
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("application/json", ".json")
mimetypes.add_type("application/octet-stream", ".onnx")


def create_app(config: Config | None = None) -> Flask:
    """Build the app from a Config (defaults read from the environment)."""
    config = config or Config.from_env()
    app = Flask(
        __name__,
        static_folder=str(config.static_dir),
        static_url_path="/static",
        template_folder="templates",
    )
    app.config.from_object(config)
    app.config["VBG"] = config

    from webapp.blueprints import backgrounds, janus_proxy, models, pages, rooms, vendor
    from webapp import caching, security
    from webapp.rooms.registry import Registry

    app.register_blueprint(pages.bp)
    app.register_blueprint(vendor.bp)
    app.register_blueprint(models.bp)
    app.register_blueprint(janus_proxy.bp)
    backgrounds.init_app(app)
    rooms.init_app(app, Registry(config.room_limits(), config.ice_servers))
    security.init_app(app)
    caching.init_app(app)
    return app
