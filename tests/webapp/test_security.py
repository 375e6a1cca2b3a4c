"""webapp/security.py: every response carries the isolation and hardening headers."""
import pytest

from webapp import create_app
from webapp.config import TestConfig
from webapp.security import HSTS_MAX_AGE_S, SECURITY_HEADERS

ORT = "/vendor/onnxruntime-web/1.30.0/"

ROUTES = {
    "html": "/",
    "javascript": "/static/js/main.js",
    "ort module": ORT + "ort.webgpu.min.mjs",
    "wasm": ORT + "ort-wasm-simd-threaded.jsep.wasm",
    "json": "/models/tiny.json",
    "health": "/healthz",
    "404": "/no/such/page",
    "404 vendor": ORT + "no-such-file.wasm",
    "405": ("POST", "/"),
}


@pytest.mark.parametrize("route", list(ROUTES.values()), ids=list(ROUTES))
def test_every_response_has_the_headers(client, route):
    method, path = route if isinstance(route, tuple) else ("GET", route)
    response = client.open(path, method=method)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (path, name)


def test_cross_origin_isolation_headers(client):
    headers = client.get("/").headers
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_csp_allows_only_our_origin_and_wasm():
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert directives["default-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval'" not in csp.replace("wasm-unsafe-eval", "")
    assert "http" not in csp  # no external origin anywhere


def test_page_has_no_inline_script(client):
    html = client.get("/").get_data(as_text=True)
    # Only the JSON config block (data, never executed) and module scripts with a src.
    for chunk in html.split("<script")[1:]:
        tag = chunk.split(">", 1)[0]
        assert 'src="' in tag or 'type="application/json"' in tag, tag


@pytest.mark.parametrize("route", ["/", "/healthz", "/no/such/page"])
def test_hsts_under_tls_only(models_dir, tmp_path, route):
    for tls in (False, True):
        app = create_app(TestConfig(model="tiny", models_dir=models_dir, instance_dir=tmp_path, tls=tls))
        hsts = app.test_client().get(route).headers.get("Strict-Transport-Security")
        assert hsts == (f"max-age={HSTS_MAX_AGE_S}" if tls else None), (tls, route)
