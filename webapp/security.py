"""Response headers every route gets: cross-origin isolation, a strict CSP and no sniffing."""
from flask import Flask, Response

# WASM threads need SharedArrayBuffer, which needs cross-origin isolation (COOP + COEP).
# No inline script and no external origin; 'wasm-unsafe-eval' lets WebAssembly compile.
# onnxruntime-web starts its thread workers from its own same-origin .mjs file.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "style-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# How long a browser keeps to HTTPS for this host (a year, the usual value). No includeSubDomains: a LAN
# host's name says nothing about its neighbours'. Browsers ignore it over plain HTTP, on IP addresses and on
# a certificate they had to be told to accept, so a self-signed setup is not locked in by it.
HSTS_MAX_AGE_S = 365 * 24 * 3600

SECURITY_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(self), microphone=(self), geolocation=(), payment=()",
}


def add_security_headers(response: Response) -> Response:
    """Set the headers on any response, errors included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def add_hsts(response: Response) -> Response:
    """Under --tls: browsers that have seen the page over HTTPS never fall back to plain HTTP for it."""
    response.headers["Strict-Transport-Security"] = f"max-age={HSTS_MAX_AGE_S}"
    return response


def init_app(app: Flask) -> None:
    """Register the header hooks (HSTS only when this server itself speaks HTTPS)."""
    app.after_request(add_security_headers)
    if app.config["VBG"].tls:
        app.after_request(add_hsts)
