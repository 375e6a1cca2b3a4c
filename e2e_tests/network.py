"""Keeping WebRTC media on loopback: where the tests may send it, the Chromium flags it needs, and the
link that stands in for a network interface where a peer will not use loopback (Janus; Firefox, which
gathers no candidate on a host it thinks is offline)."""
import socket
import subprocess
import time


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

# Janus never gathers ICE candidates on a loopback interface (janus_ice_setup_local in its ice.c skips every
# IFF_LOOPBACK interface, whatever ice_enforce_list, nat_1_1_mapping or the IPv6 settings say), so in a
# loopback-only namespace it gets a veth pair whose two ends both stay in the namespace, with an address
# from TEST-NET-1 (RFC 5737): packets to it are delivered locally, and nothing can leave.
MEDIA_LINK = ("vbgjanus0", "vbgjanus1")
MEDIA_ADDRESS = "192.0.2.1/32"  # IPv4 only: Janus's default
MEDIA_LINK_SETTLE_S = 1.0  # after the link comes up, before any browser starts


class MediaLinkError(RuntimeError):
    """The veth pair could not be made (needs root in the network namespace)."""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def add_media_link(default_route: bool = False) -> str:
    """Make the veth pair for Janus's ICE inside this namespace and return the name of its addressed end.
    DEFAULT_ROUTE also routes every other address to it (packets to them die at the peer end): Firefox
    counts itself offline without a default route and then never gathers an ICE candidate."""
    name, peer = MEDIA_LINK
    try:
        _ip("link", "add", name, "type", "veth", "peer", "name", peer)
        # No IPv6 link-local addresses: they would appear a second or two after "up", and Chromium
        # fails requests in flight on any address change (ERR_NETWORK_CHANGED), a page load included.
        for end in (name, peer):
            _ip("link", "set", "dev", end, "addrgenmode", "none")
        _ip("addr", "add", MEDIA_ADDRESS, "dev", name)
        _ip("link", "set", name, "up")
        _ip("link", "set", peer, "up")  # a veth has carrier only with both ends up
        if default_route:
            _ip("route", "add", "default", "dev", name)
    except (OSError, subprocess.CalledProcessError) as error:
        remove_media_link()
        raise MediaLinkError(getattr(error, "stderr", "") or str(error)) from error
    time.sleep(MEDIA_LINK_SETTLE_S)
    return name


def remove_media_link() -> None:
    """Delete the veth pair (its peer goes with it); nothing happens if it is not there."""
    subprocess.run(["ip", "link", "del", MEDIA_LINK[0]], capture_output=True)
