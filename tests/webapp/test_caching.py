"""webapp/caching.py and the MIME types browsers insist on."""
import pytest

ORT = "/vendor/onnxruntime-web/1.30.0/"
QRCODE = "/vendor/qrcode-generator/2.0.4/"


@pytest.mark.parametrize(
    "path, mime",
    [
        (ORT + "ort-wasm-simd-threaded.jsep.wasm", "application/wasm"),
        (ORT + "ort.webgpu.min.mjs", "text/javascript"),
        (ORT + "ort-wasm-simd-threaded.jsep.mjs", "text/javascript"),
        (QRCODE + "qrcode.mjs", "text/javascript"),
        ("/static/js/main.js", "text/javascript"),
        ("/static/css/app.css", "text/css"),
        ("/models/tiny.json", "application/json"),
        ("/", "text/html"),
    ],
)
def test_mime_types(client, path, mime):
    response = client.get(path)
    assert response.status_code == 200, path
    assert response.mimetype == mime


@pytest.mark.parametrize("path", [ORT + "ort-wasm-simd-threaded.jsep.wasm", QRCODE + "qrcode.mjs"])
def test_versioned_libraries_are_cached_for_a_year(client, path):
    cache = client.get(path).cache_control
    assert cache.max_age >= 365 * 24 * 3600 and cache.immutable and not cache.no_cache


def test_content_addressed_weights_are_cached_for_a_year(client):
    manifest = client.get("/models/tiny.json").json
    response = client.get(f"/models/{manifest['sha256']}/{manifest['file']}")
    assert response.status_code == 200
    assert response.cache_control.immutable and response.cache_control.max_age >= 365 * 24 * 3600


@pytest.mark.parametrize("path", ["/", "/static/js/main.js", "/models/tiny.json"])
def test_unversioned_paths_revalidate(client, path):
    assert client.get(path).cache_control.no_cache


@pytest.mark.parametrize("path", ["/vendor/onnxruntime-web/1.0.0/ort.webgpu.min.mjs",
                                  "/vendor/qrcode-generator/1.4.4/qrcode.mjs", "/vendor/qrcode-generator/2.0.4/",
                                  "/vendor/qrcode-generator/2.0.4/../package.json"])
def test_other_library_versions_and_files_are_not_served(client, path):
    assert client.get(path).status_code == 404
