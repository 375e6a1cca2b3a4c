"""Keeping WebRTC media on loopback: where the tests may send it and the Chromium flags it needs."""
import socket


def _only_loopback() -> bool:
    """True inside a network namespace whose only interface is `lo` (scripts/test.sh makes one as root)."""
    # Asks the kernel about this process's namespace (/sys/class/net would show the host's, since sysfs
    # stays mounted from outside).
    try:
        return [name for _, name in socket.if_nameindex()] == ["lo"]
    except OSError:
        return False


LOOPBACK_ONLY = _only_loopback()

# Measured here: without the first flag Chromium gathers no ICE candidate at all on a loopback-only
# host; with it peers connect on 127.0.0.1. Pages without camera permission would otherwise hide
# their addresses behind mDNS names that nothing in the namespace resolves.
WEBRTC_LOOPBACK_ARGS = [
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
