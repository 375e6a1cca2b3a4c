"""The `vbg` command: serve the app, or run a stage of the model build backend.

    vbg serve [--host 0.0.0.0] [--port 8000] [--tls | --cert C --key K] [--dev] [--ice-servers JSON]
              [--sfu janus [--janus-url http://127.0.0.1:8088/janus]]
              [--backgrounds-dir DIR [--default-background STEM]] [--org-name NAME] [--org-logo FILE]
    vbg train|export|quantize|evaluate|teacher ...   (needs the `train` extra)
"""
import argparse
import importlib
import sys
from pathlib import Path

from webapp.config import (
    DEFAULT_JANUS_URL, DEFAULT_THREADS, MIN_THREADS, SFU_KINDS, SOCKETS_PER_ADDRESS_SHARE, Config, http_url,
    ice_servers, positive_float, positive_int,
)
from webapp.rooms.registry import RoomLimits

# Each build stage is a module of model_export with its own argparse `main(argv)`; importing it
# lazily keeps `vbg serve` free of torch and onnx.
BUILD_COMMANDS = {
    "train": "model_export.train",
    "export": "model_export.export",
    "quantize": "model_export.quantize",
    "evaluate": "model_export.evaluate",
    "teacher": "model_export.teacher",
    "cross-validate": "model_export.cross_validate",
}


def _checked(parse):
    """An argparse type that reports the parser's own message (argparse hides a ValueError's)."""
    def checked(raw: str):
        try:
            return parse(raw)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    checked.__name__ = parse.__name__
    return checked


def _serve_parser(sub) -> None:
    serve = sub.add_parser("serve", help="serve the app (production server; --dev for Flask's reloader)")
    serve.add_argument("--host", help="interface to listen on (env VBG_HOST, default 127.0.0.1; 0.0.0.0 for the LAN)")
    serve.add_argument("--port", type=int, help="TCP port (env VBG_PORT, default 8000)")
    serve.add_argument("--model", help="name of the model manifest in --models-dir (env VBG_MODEL)")
    serve.add_argument("--webgpu-model", help="fp32 model manifest WebGPU runs (env VBG_WEBGPU_MODEL, default: --model's fp32 twin)")
    serve.add_argument("--models-dir", type=Path, help="folder of model manifests and weights (env VBG_MODELS_DIR)")
    serve.add_argument("--tls", action="store_true", default=None,
                       help="serve HTTPS; generates a self-signed certificate unless --cert/--key (env VBG_TLS)")
    serve.add_argument("--cert", type=Path, help="PEM certificate for --tls (env VBG_CERT)")
    serve.add_argument("--key", type=Path, help="PEM private key for --tls (env VBG_KEY)")
    serve.add_argument("--threads", type=_checked(positive_int),
                       help=f"request threads; each open room socket holds one "
                            f"(env VBG_THREADS, default {DEFAULT_THREADS}, at least {MIN_THREADS})")
    serve.add_argument("--ice-servers", type=_checked(ice_servers), metavar="JSON",
                       help='STUN/TURN servers for WebRTC, e.g. \'[{"urls": "stun:stun.example.org:3478"}]\' '
                            "(env VBG_ICE_SERVERS, default none: peers on one network connect directly)")
    serve.add_argument("--max-meeting-size", type=_checked(positive_int),
                       help="participants per meeting "
                            f"(env VBG_MAX_MEETING_SIZE, default {RoomLimits.max_meeting_size})")
    serve.add_argument("--max-viewers", type=_checked(positive_int),
                       help=f"viewers per broadcast (env VBG_MAX_VIEWERS, default {RoomLimits.max_viewers})")
    serve.add_argument("--max-rooms", type=_checked(positive_int),
                       help=f"live rooms in all (env VBG_MAX_ROOMS, default {RoomLimits.max_rooms})")
    serve.add_argument("--max-rooms-per-address", type=_checked(positive_int),
                       help="live rooms one client address may create "
                            f"(env VBG_MAX_ROOMS_PER_ADDRESS, default {RoomLimits.max_rooms_per_address})")
    serve.add_argument("--max-sockets-per-address", type=_checked(positive_int),
                       help="open room sockets from one client address, below the room sockets the threads "
                            "allow (env VBG_MAX_SOCKETS_PER_ADDRESS, default "
                            f"{SOCKETS_PER_ADDRESS_SHARE * 100:.0f}%% of them: {Config.from_env({}).sockets_per_address()} "
                            f"with {DEFAULT_THREADS} threads)")
    serve.add_argument("--messages-per-s", type=_checked(positive_float),
                       help="messages a room socket may send per second and per peer "
                            f"(env VBG_MESSAGES_PER_S, default {RoomLimits.messages_per_s:g})")
    serve.add_argument("--message-burst", type=_checked(positive_int),
                       help="messages a room socket may send at once, per peer "
                            f"(env VBG_MESSAGE_BURST, default {RoomLimits.message_burst})")
    serve.add_argument("--sfu", choices=SFU_KINDS,
                       help="who forwards a broadcast to its viewers: none (the presenter's browser, peer to peer) "
                            "or janus (a Janus VideoRoom, see --janus-url) (env VBG_SFU, default none)")
    serve.add_argument("--janus-url", type=_checked(http_url), metavar="URL",
                       help="Janus's HTTP API, which this server proxies at /janus for the browsers "
                            f"(env VBG_JANUS_URL, default {DEFAULT_JANUS_URL})")
    serve.add_argument("--max-janus-sessions-per-address", type=_checked(positive_int),
                       help="Janus sessions (each a long poll) one client address may hold with --sfu janus, below "
                            "the Janus sessions the threads allow (env VBG_MAX_JANUS_SESSIONS_PER_ADDRESS, default: "
                            "the room sockets per address)")
    serve.add_argument("--backgrounds-dir", type=Path, metavar="DIR",
                       help="folder of pictures (PNG, JPEG, WebP) and looping videos (WebM, MP4) shown in every "
                            "user's gallery, named after their files; checked at start-up (env VBG_BACKGROUNDS_DIR)")
    serve.add_argument("--default-background", metavar="STEM",
                       help="file name without extension of the --backgrounds-dir file a first visit gets "
                            "(env VBG_DEFAULT_BACKGROUND; a user's own choice still wins)")
    serve.add_argument("--org-name", metavar="NAME", help="organisation name shown in the page header (env VBG_ORG_NAME)")
    serve.add_argument("--org-logo", type=Path, metavar="FILE",
                       help="organisation logo (PNG, JPEG or WebP) shown in the page header (env VBG_ORG_LOGO)")
    serve.add_argument("--dev", action="store_true", help="Flask's debug server with the reloader")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `vbg` console script."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in BUILD_COMMANDS:
        module = importlib.import_module(BUILD_COMMANDS[argv[0]])
        return module.main(argv[1:]) or 0

    parser = argparse.ArgumentParser(prog="vbg", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    for name in BUILD_COMMANDS:
        sub.add_parser(name, help=f"model build stage (python -m {BUILD_COMMANDS[name]} --help)")
    args = parser.parse_args(argv)

    if args.command == "serve":
        from webapp.server import serve

        if args.cert or args.key:
            args.tls = True
        try:
            config = Config.from_env(
                host=args.host, port=args.port, model=args.model, webgpu_model=args.webgpu_model, models_dir=args.models_dir,
                tls=args.tls, cert=args.cert, key=args.key, threads=args.threads, dev=args.dev or None,
                ice_servers=args.ice_servers, max_meeting_size=args.max_meeting_size, max_viewers=args.max_viewers,
                max_rooms=args.max_rooms, max_rooms_per_address=args.max_rooms_per_address,
                max_sockets_per_address=args.max_sockets_per_address, messages_per_s=args.messages_per_s,
                message_burst=args.message_burst, sfu=args.sfu, janus_url=args.janus_url,
                max_janus_sessions_per_address=args.max_janus_sessions_per_address,
                backgrounds_dir=args.backgrounds_dir, default_background=args.default_background,
                org_name=args.org_name, org_logo=args.org_logo,
            )
        except ValueError as exc:
            parser.error(str(exc))
        for package, version in (("onnxruntime-web", config.ort_version), ("qrcode-generator", config.qrcode_version)):
            if version == "missing":
                parser.error(f"{package} is not installed in {config.node_modules}: run `npm ci` first")
        serve(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
