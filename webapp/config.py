"""Server configuration: one dataclass, filled from defaults, environment variables and CLI flags."""
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from webapp.janus_rooms import JanusLimits
from webapp.rooms.registry import RoomLimits

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# The model the WASM backend runs: weight-only int8 (int8 weights restored by DequantizeLinear, fp32
# arithmetic), a third of fp32's bytes at fp32's speed and score in onnxruntime-web's WASM backend
# (model_export/quantize.py). WebGPU runs the fp32 twin: int8 weights save it nothing but download bytes,
# and the int8 graph has not been run on a real WebGPU adapter (this machine has only SwiftShader's fallback).
DEFAULT_MODEL = "vbg-portrait-int8"
DEFAULT_WEBGPU_MODEL = "vbg-portrait"
# Versioned and content-addressed URLs never change meaning, so browsers may keep them for a year.
IMMUTABLE_MAX_AGE_S = 365 * 24 * 3600
ENV_PREFIX = "VBG_"
# gthread serves each connection on a thread of a fixed pool, and an open signalling WebSocket keeps its
# thread for as long as the page is in a room: 128 lets a classroom watch one broadcast. Threads waiting
# on a socket cost memory, not CPU.
DEFAULT_THREADS = 128
# Threads never given to WebSockets, so pages, models and the health probe are still served when the
# sockets take all they may.
HTTP_RESERVED_THREADS = 8
# Fewer threads than this leave no room socket that one address could not take alone.
MIN_THREADS = HTTP_RESERVED_THREADS + 4
# The share of the room sockets (and so of the threads they hold) one client address may take by default:
# a single machine never holds the whole server.
SOCKETS_PER_ADDRESS_SHARE = 0.5
# TCP connections one address may hold beyond its room sockets and as many Janus long polls (one per viewer
# in Janus mode): its browsers' page and model requests, a browser opening at most 6 per host. The server
# refuses more at accept, so no single machine fills the worker's connection slots.
HTTP_CONNECTIONS_PER_ADDRESS = 64
# The server reads every request, head and body, before a thread serves it (webapp/worker.py); one that is
# not all there this long after its connection opened (or became readable again) is answered 408 and closed.
REQUEST_READ_TIMEOUT_S = 20.0
# A request head larger than this is answered 431 (gunicorn's own limit is 100 fields of 8 KB).
MAX_REQUEST_HEAD_BYTES = 64 * 1024
# The largest request body any route takes: a Janus SDP (webapp/blueprints/janus_proxy.py); larger is 413.
MAX_REQUEST_BODY_BYTES = 64 * 1024
# Where a broadcast's media goes: "none" sends one stream per viewer from the presenter's browser (peer to
# peer); "janus" sends one stream to a Janus VideoRoom, which forwards it to every viewer.
SFU_KINDS = ("none", "janus")
DEFAULT_JANUS_URL = "http://127.0.0.1:8088/janus"
# In Janus mode each viewer holds two server threads, its room socket and its Janus long poll, so each kind
# gets half of the threads not reserved for HTTP.
JANUS_SHARE_OF_THREADS = 0.5


def _package_version(node_modules: Path, package: str) -> str:
    package_json = node_modules / package / "package.json"
    try:
        return json.loads(package_json.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "missing"


@dataclass
class Config:
    """Everything the server needs; attribute names double as Flask config keys."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    model: str = DEFAULT_MODEL
    webgpu_model: str = DEFAULT_WEBGPU_MODEL
    models_dir: Path = REPO_ROOT / "static" / "models"
    static_dir: Path = REPO_ROOT / "static"
    node_modules: Path = REPO_ROOT / "node_modules"
    tls: bool = False
    cert: Path | None = None
    key: Path | None = None
    # Where a generated self-signed certificate is kept between runs.
    instance_dir: Path = REPO_ROOT / "instance"
    dev: bool = False
    TESTING: bool = False
    threads: int = DEFAULT_THREADS
    # WebRTC ICE servers handed to the browsers (RTCPeerConnection's iceServers). Empty by default: on an
    # intranet the peers reach each other directly, and nothing leaves the network.
    ice_servers: list[dict] = field(default_factory=list)
    max_meeting_size: int = RoomLimits.max_meeting_size
    max_viewers: int = RoomLimits.max_viewers
    max_rooms: int = RoomLimits.max_rooms
    max_rooms_per_address: int = RoomLimits.max_rooms_per_address
    # None: SOCKETS_PER_ADDRESS_SHARE of the room sockets the threads allow.
    max_sockets_per_address: int | None = None
    messages_per_s: float = RoomLimits.messages_per_s
    message_burst: int = RoomLimits.message_burst
    sfu: str = "none"
    # Janus's HTTP API (its base_path), reached only by this server: browsers go through /janus here.
    janus_url: str = DEFAULT_JANUS_URL
    # Janus sessions (one per viewer, each with a long poll holding a thread) one client address may open.
    # None: as many as its room sockets (sockets_per_address), since each viewer holds one of each.
    max_janus_sessions_per_address: int | None = None
    # The intranet admin's backgrounds: a folder of pictures and looping videos every user's gallery shows
    # (checked at start-up, webapp/blueprints/backgrounds.py), the file stem of the one a first visit gets,
    # and the organisation's name and logo for the page header.
    backgrounds_dir: Path | None = None
    default_background: str | None = None
    org_name: str = ""
    org_logo: Path | None = None
    ort_version: str = field(default="")
    qrcode_version: str = field(default="")
    # Flask's own limit (413 past it); the worker enforces the same before a thread is involved.
    MAX_CONTENT_LENGTH: int = MAX_REQUEST_BODY_BYTES

    def __post_init__(self) -> None:
        if not self.ort_version:
            self.ort_version = _package_version(self.node_modules, "onnxruntime-web")
        if not self.qrcode_version:
            self.qrcode_version = _package_version(self.node_modules, "qrcode-generator")
        if self.threads < MIN_THREADS:
            raise ValueError(f"threads must be at least {MIN_THREADS}: {HTTP_RESERVED_THREADS} only serve pages, "
                             "and one client address may never hold every room socket")
        sockets = self._socket_threads()
        if self.max_sockets_per_address is not None and self.max_sockets_per_address >= sockets:
            raise ValueError(f"max_sockets_per_address ({self.max_sockets_per_address}) must be below the "
                             f"{sockets} room sockets {self.threads} threads allow, or one address could "
                             "take them all")
        janus_per_address = self.max_janus_sessions_per_address
        if janus_per_address is not None and janus_per_address >= sockets:
            raise ValueError(f"max_janus_sessions_per_address ({janus_per_address}) must be below the {sockets} "
                             "Janus sessions the threads allow, or one address could take them all")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> "Config":
        """Defaults, then VBG_* environment variables, then explicit overrides (CLI flags)."""
        environ = os.environ if environ is None else environ
        values: dict = {}
        for name, caster in _ENV_FIELDS.items():
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw is not None and raw != "":
                try:
                    values[name] = caster(raw)
                except ValueError as exc:
                    raise ValueError(f"{ENV_PREFIX}{name.upper()}={raw!r}: {exc}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_overrides(self, **overrides) -> "Config":
        """A copy with some fields replaced."""
        return replace(self, **overrides)

    def room_limits(self) -> RoomLimits:
        """The rooms' limits; the number of sockets follows the thread pool."""
        return RoomLimits(
            max_meeting_size=self.max_meeting_size,
            max_viewers=self.max_viewers,
            max_rooms=self.max_rooms,
            max_rooms_per_address=self.max_rooms_per_address,
            max_sockets_per_address=self.sockets_per_address(),
            max_sockets=self._socket_threads(),
            messages_per_s=self.messages_per_s,
            message_burst=self.message_burst,
        )

    def sockets_per_address(self) -> int:
        """Room sockets one client address may hold: the flag, or a share of the capacity (always below it)."""
        if self.max_sockets_per_address is not None:
            return self.max_sockets_per_address
        return max(1, int(self._socket_threads() * SOCKETS_PER_ADDRESS_SHARE))

    def connections_per_address(self) -> int:
        """TCP connections one client address may hold open: its room sockets, a long poll for each, and its
        page requests."""
        return 2 * self.sockets_per_address() + HTTP_CONNECTIONS_PER_ADDRESS

    def janus_limits(self) -> JanusLimits:
        """The Janus proxy's limits; the number of sessions follows the thread pool."""
        per_address = self.max_janus_sessions_per_address
        return JanusLimits(max_sessions_per_address=self.sockets_per_address() if per_address is None else per_address,
                           max_sessions=self._socket_threads())

    def _socket_threads(self) -> int:
        # Threads for long-lived connections: room sockets, and in Janus mode as many Janus long polls.
        threads = max(1, self.threads - HTTP_RESERVED_THREADS)
        return max(1, int(threads * JANUS_SHARE_OF_THREADS)) if self.sfu == "janus" else threads

    @property
    def ort_dist(self) -> Path:
        """Folder of the onnxruntime-web build files in node_modules."""
        return self.node_modules / "onnxruntime-web" / "dist"

    @property
    def qrcode_dist(self) -> Path:
        """Folder of the qrcode-generator ES module in node_modules."""
        return self.node_modules / "qrcode-generator" / "dist"


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected a boolean (1/0, true/false, yes/no, on/off)")


def positive_int(raw: str) -> int:
    """A count of at least 1, from text."""
    value = int(raw)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def positive_float(raw: str) -> float:
    """A rate above 0, from text."""
    value = float(raw)
    if not value > 0 or value == float("inf"):
        raise ValueError("must be a number above 0")
    return value


def ice_servers(raw: str) -> list[dict]:
    """ICE servers from JSON: a list of {"urls": str or [str], "username"?: str, "credential"?: str}."""
    try:
        servers = json.loads(raw)
    except ValueError:
        raise ValueError("expected JSON, e.g. [{\"urls\": \"stun:stun.example.org:3478\"}]") from None
    if not isinstance(servers, list):
        raise ValueError("expected a JSON list of ICE servers")
    for server in servers:
        urls = server.get("urls") if isinstance(server, dict) else None
        if isinstance(urls, str):
            urls = [urls]
        if not urls or not isinstance(urls, list) or not all(isinstance(u, str) and u for u in urls):
            raise ValueError('each ICE server needs "urls": a URL or a list of URLs')
        if not all(isinstance(server.get(k, ""), str) for k in ("username", "credential")):
            raise ValueError('"username" and "credential" must be strings')
    return servers


def sfu_kind(raw: str) -> str:
    """Which SFU carries broadcasts, from text."""
    value = raw.strip().lower()
    if value not in SFU_KINDS:
        raise ValueError(f"expected one of {', '.join(SFU_KINDS)}")
    return value


def http_url(raw: str) -> str:
    """An http:// or https:// URL with a host, from text."""
    parts = urlsplit(raw.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("expected an http:// or https:// URL, e.g. http://127.0.0.1:8088/janus")
    return raw.strip().rstrip("/")


def _port(raw: str) -> int:
    port = int(raw)
    if not 0 <= port <= 65535:
        raise ValueError("port must be between 0 and 65535")
    return port


_ENV_FIELDS = {
    "host": str,
    "port": _port,
    "model": str,
    "webgpu_model": str,
    "models_dir": Path,
    "node_modules": Path,
    "tls": _bool,
    "cert": Path,
    "key": Path,
    "instance_dir": Path,
    "threads": positive_int,
    "ice_servers": ice_servers,
    "max_meeting_size": positive_int,
    "max_viewers": positive_int,
    "max_rooms": positive_int,
    "max_rooms_per_address": positive_int,
    "max_sockets_per_address": positive_int,
    "messages_per_s": positive_float,
    "message_burst": positive_int,
    "sfu": sfu_kind,
    "janus_url": http_url,
    "max_janus_sessions_per_address": positive_int,
    "backgrounds_dir": Path,
    "default_background": str,
    "org_name": str,
    "org_logo": Path,
}


@dataclass
class TestConfig(Config):
    """Config for the test suite: Flask's testing mode, nothing read from the environment."""

    __test__ = False  # a config, not a pytest test class

    TESTING: bool = True
