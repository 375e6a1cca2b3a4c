"""A self-signed certificate for HTTPS on a LAN: browsers only allow the camera on a secure context."""
import datetime
import ipaddress
import os
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_VALIDITY_DAYS = 365
CERT_FILE = "self-signed-cert.pem"
KEY_FILE = "self-signed-key.pem"
# A routable address that is never contacted: connecting a UDP socket sends no packet, it only
# asks the kernel which local interface would be used.
_ROUTE_PROBE_ADDRESS = ("10.255.255.255", 1)


def lan_address() -> str | None:
    """This machine's address on the LAN, or None when it has no route off loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(_ROUTE_PROBE_ADDRESS)
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def _names(extra_addresses: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.DNSName(socket.gethostname())]
    for address in {"127.0.0.1", "::1", *extra_addresses}:
        names.append(x509.IPAddress(ipaddress.ip_address(address)))
    return names


def ensure_self_signed(folder: Path, extra_addresses: list[str] | None = None) -> tuple[Path, Path]:
    """Return (cert, key) paths in folder, generating them when missing or expired."""
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    wanted = set(extra_addresses or [])
    if cert_path.is_file() and key_path.is_file():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        covered = {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
        still_valid = cert.not_valid_after_utc > datetime.datetime.now(datetime.timezone.utc)
        if still_valid and wanted <= covered:
            return cert_path, key_path

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vbg self-signed")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERT_VALIDITY_DAYS))
        .add_extension(x509.SubjectAlternativeName(_names(sorted(wanted))), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write_atomic(key_path, key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ), mode=0o600)
    _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return cert_path, key_path


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    # Created with its mode: a key written first and chmodded after is readable by anyone in between.
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.unlink(missing_ok=True)  # a crashed run's leftover keeps its own mode; O_EXCL makes a new file
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as out:
        out.write(data)
    tmp.replace(path)
