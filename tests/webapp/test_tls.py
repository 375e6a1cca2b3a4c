"""webapp/tls.py: the self-signed certificate for LAN use."""
import os
from pathlib import Path

from cryptography import x509

from webapp.tls import ensure_self_signed


def _ip_names(cert_path):
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}, set(sans.get_values_for_type(x509.DNSName))


def test_generates_a_certificate_for_localhost_and_the_lan(tmp_path):
    cert, key = ensure_self_signed(tmp_path, ["192.168.1.20"])
    ips, dns = _ip_names(cert)
    assert {"127.0.0.1", "192.168.1.20"} <= ips and "localhost" in dns
    assert oct(key.stat().st_mode & 0o777) == "0o600"


def test_reuses_a_valid_certificate(tmp_path):
    cert, _ = ensure_self_signed(tmp_path, ["10.0.0.5"])
    before = cert.read_bytes()
    ensure_self_signed(tmp_path, ["10.0.0.5"])
    assert cert.read_bytes() == before


def test_regenerates_when_the_lan_address_changes(tmp_path):
    cert, _ = ensure_self_signed(tmp_path, ["10.0.0.5"])
    ensure_self_signed(tmp_path, ["10.0.0.6"])
    assert "10.0.0.6" in _ip_names(cert)[0]


def test_the_key_is_created_private_not_made_private_afterwards(tmp_path, monkeypatch):
    # With chmod gone, only a file created 0600 ends up 0600: a key written first and chmodded after
    # was readable by everyone on the machine in between.
    monkeypatch.setattr(os, "chmod", lambda *args, **kwargs: None)
    monkeypatch.setattr(Path, "chmod", lambda *args, **kwargs: None)
    previous = os.umask(0o022)
    try:
        _, key = ensure_self_signed(tmp_path)
    finally:
        os.umask(previous)
    assert oct(key.stat().st_mode & 0o777) == "0o600"


def test_a_leftover_temporary_key_is_not_reused(tmp_path):
    leftover = tmp_path / "self-signed-key.pem.tmp"
    leftover.write_text("from a crashed run")
    leftover.chmod(0o666)
    _, key = ensure_self_signed(tmp_path)
    assert oct(key.stat().st_mode & 0o777) == "0o600" and b"PRIVATE KEY" in key.read_bytes()
