"""webapp/blueprints/pages.py: the page, the health probe, error pages."""
import json


def test_index_hands_the_browser_its_config(client):
    html = client.get("/").get_data(as_text=True)
    block = html.split('<script type="application/json" id="vbg-config">', 1)[1].split("</script>", 1)[0]
    config = json.loads(block)
    assert config["ortBase"] == "/vendor/onnxruntime-web/1.30.0/"
    assert config["modelManifestUrl"] == "/models/tiny.json"
    assert config["qrcodeModuleUrl"] == "/vendor/qrcode-generator/2.0.4/qrcode.mjs"
    assert client.get(config["qrcodeModuleUrl"]).status_code == 200
    assert "Enable camera" in html


def test_the_server_draws_no_qr_codes(client):
    # The page draws them: a share link may carry its passcode, which must never reach the server.
    assert client.get("/qr.svg?text=https://vbg.lan/watch/x%23passcode=secret").status_code == 404


def test_healthz_reports_runtime_and_model(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "onnxruntime_web": "1.30.0", "model": "tiny"}


def test_healthz_is_degraded_without_a_model(app, models_dir):
    (models_dir / "tiny.json").unlink()
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "degraded" and response.json["model"] is None


def test_errors_are_pages_not_stack_traces(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "404" in body and "Traceback" not in body and "Back to the virtual background" in body
