"""webapp/blueprints/pages.py: the page, the health probe, error pages."""
import json
import re

import pytest


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
    assert "404" in body and "Traceback" not in body
    assert "This page does not exist" in body and 'href="/"' in body  # a way home, in plain words


def _text(html: str) -> str:
    """What a person reads in the page's <main>: its text without tags, whitespace collapsed."""
    main = html.split('<main id="main">', 1)[1].split("</main>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)).strip()


@pytest.mark.parametrize("path, what, whom", [
    ("/watch/nosuchroom0000000000000", "This broadcast has ended or the link is wrong", "Ask the presenter for a new link."),
    ("/meet/nosuchroom0000000000000", "This meeting has ended or the link is wrong", "Ask whoever invited you for a new link."),
    ("/watch/", "This broadcast has ended or the link is wrong", "Ask the presenter for a new link."),
])
def test_a_room_link_that_leads_nowhere_tells_a_student_what_to_do(client, path, what, whom):
    response = client.get(path)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    text = _text(html)
    assert what in text and whom in text
    # Its reader is a student or an invitee: no way into the camera studio, no developer words.
    assert 'href="/"' not in html and "Back to the virtual background" not in html
    assert "Not Found" not in html and "404 ·" not in html


def test_only_the_studio_pages_carry_the_studio_tagline(client):
    tagline = "Virtual background that never leaves your machine"
    assert tagline in client.get("/").get_data(as_text=True)
    assert tagline in client.get("/meet").get_data(as_text=True)
    assert tagline not in client.get("/watch/nosuchroom0000000000000").get_data(as_text=True)
    room = client.post("/api/rooms", json={"kind": "broadcast"}).json
    assert tagline not in client.get(room["url"]).get_data(as_text=True)


def test_the_output_view_is_only_the_picture_with_the_page_config(client):
    response = client.get("/output")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="vbg-config"' in page and "output_main.js" in page
    assert '<canvas id="output"' in page
    assert "site-header" not in page and "<select" not in page and "<input" not in page
    assert "Content-Security-Policy" in response.headers
