"""webapp/server.py and webapp/cli.py: the production server over HTTP and HTTPS."""
import ssl
import subprocess
import sys
import urllib.request

import pytest

from tests.server_process import REPO_ROOT, start_server, stop_server
from webapp.cli import main
from webapp.config import Config
from webapp.server import is_loopback, serve, urls


def _get(url: str, context=None):
    with urllib.request.urlopen(url, context=context, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


@pytest.mark.slow
def test_http_server_serves_and_stops_gracefully():
    server = start_server()
    try:
        status, headers, _ = _get(server.url)
        assert status == 200 and headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    finally:
        output = stop_server(server)
    assert server.process.returncode == 0, output
    assert "vbg serving http://127.0.0.1:" in output


@pytest.mark.slow
def test_tls_mode_generates_a_certificate_and_serves_https(tmp_path):
    server = start_server(["--tls"], env={"VBG_INSTANCE_DIR": str(tmp_path)}, scheme="https")
    try:
        cert = tmp_path / "self-signed-cert.pem"
        context = ssl.create_default_context(cafile=str(cert))  # trust exactly our certificate
        status, headers, body = _get(server.url, context)
        assert status == 200 and b"Enable camera" in body
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    finally:
        output = stop_server(server)
    assert "vbg serving https://127.0.0.1:" in output
    assert "self-signed" in output


def test_cert_without_key_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "webapp.cli", "serve", "--cert", str(tmp_path / "c.pem"), "--port", "0"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode != 0
    assert "--cert and --key go together" in result.stderr


def test_bad_port_in_environment_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setenv("VBG_PORT", "eighty")
    with pytest.raises(SystemExit) as exit_info:
        main(["serve"])
    assert exit_info.value.code == 2
    assert "VBG_PORT" in capsys.readouterr().err


def test_lan_urls_when_listening_on_all_interfaces():
    listed = urls(Config(host="0.0.0.0", port=8443, tls=True))
    assert listed[-1] == "https://127.0.0.1:8443/"
    assert all(url.startswith("https://") for url in listed)


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True),
                                            ("::1", True), ("[::1]", True), ("0.0.0.0", False), ("::", False),
                                            ("192.168.1.20", False), ("vbg.lan", False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("host, warned", [("127.0.0.1", False), ("0.0.0.0", True)])
def test_dev_mode_warns_when_it_serves_the_network(monkeypatch, capsys, host, warned):
    ran = []
    monkeypatch.setattr("flask.Flask.run", lambda app, **kwargs: ran.append(kwargs))
    serve(Config(host=host, dev=True))
    assert ran and ran[0]["debug"] is True
    assert ("warning: --dev on" in capsys.readouterr().err) is warned
