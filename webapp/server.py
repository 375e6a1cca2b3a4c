"""Run the app under gunicorn (production) or Flask's reloader (--dev), over HTTP or HTTPS."""
import ipaddress
import sys

from gunicorn.app.base import BaseApplication

from webapp import create_app
from webapp.config import Config
from webapp.tls import ensure_self_signed, lan_address
from webapp.worker import Worker

# Room for slow clients (the model and the wasm are a few MB) without a request ever starving.
GRACEFUL_TIMEOUT_S = 10
KEEPALIVE_S = 5
# Idle kept-alive connections a worker holds on top of its busy threads (gunicorn's worker_connections
# counts both; its default of 1000 would cap the threads too).
KEPT_ALIVE_CONNECTIONS = 1000


class _Gunicorn(BaseApplication):
    """gunicorn driven from our own CLI, one process so in-memory state is shared by all threads."""

    def __init__(self, app, options: dict):
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return self._app


def _resolve_tls(config: Config) -> Config:
    if not config.tls:
        return config
    if config.cert and config.key:
        return config
    if config.cert or config.key:
        raise SystemExit("--cert and --key go together: give both, or neither to generate a self-signed pair.")
    address = lan_address()
    cert, key = ensure_self_signed(config.instance_dir, [address] if address else [])
    return config.with_overrides(cert=cert, key=key)


def urls(config: Config) -> list[str]:
    """The addresses a user can open, the LAN one first when the server listens beyond loopback."""
    scheme = "https" if config.tls else "http"
    found = []
    if config.host in {"0.0.0.0", "::"}:
        address = lan_address()
        if address:
            found.append(f"{scheme}://{address}:{config.port}/")
        found.append(f"{scheme}://127.0.0.1:{config.port}/")
    else:
        found.append(f"{scheme}://{config.host}:{config.port}/")
    return found


def is_loopback(host: str) -> bool:
    """True when only this machine can reach a server listening on host."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(config: Config) -> None:
    """Serve until interrupted; SIGTERM finishes requests in flight, then exits."""
    config = _resolve_tls(config)
    app = create_app(config)
    listening = urls(config)
    print("vbg serving " + " and ".join(listening), flush=True)
    if not config.tls and not is_loopback(config.host):
        print(
            "note: browsers allow the camera only on https or localhost; "
            "other machines on the LAN need --tls",
            file=sys.stderr,
            flush=True,
        )
    if config.tls and config.cert and "self-signed" in str(config.cert):
        print("note: the certificate is self-signed; browsers ask once to accept it", file=sys.stderr, flush=True)
    if config.dev:
        if not is_loopback(config.host):
            print(
                f"warning: --dev on {config.host} serves Flask's debug server to the network: its interactive "
                "debugger runs code for whoever reaches it (and it has none of the production server's limits). "
                "Use --dev on 127.0.0.1 only.",
                file=sys.stderr,
                flush=True,
            )
        ssl_context = (str(config.cert), str(config.key)) if config.tls else None
        app.run(host=config.host, port=config.port, debug=True, use_reloader=True, ssl_context=ssl_context)
        return
    options = {
        "bind": f"[{config.host}]:{config.port}" if ":" in config.host else f"{config.host}:{config.port}",
        "workers": 1,
        "worker_class": Worker,
        "threads": config.threads,
        "worker_connections": config.threads + KEPT_ALIVE_CONNECTIONS,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "keepalive": KEEPALIVE_S,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }
    if config.tls:
        options.update(certfile=str(config.cert), keyfile=str(config.key))
    _Gunicorn(app, options).run()
