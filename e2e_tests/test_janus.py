"""Classroom broadcast through Janus (vbg serve --sfu janus): Debian's Janus with our deploy/janus
configuration in the test's network namespace, a presenter and two viewers in one Chromium. The viewers
see the composited picture (the presenter's colour behind the person), the presenter sends one stream
only (to Janus), a viewer whose connection drops subscribes again, and ending the broadcast tells everyone
and destroys the Janus room. Someone with the link but not the passcode can neither watch nor publish
through our /janus, a presenter who comes back takes the publisher slot back from its stale self, a
microphone turned on while live reaches the viewer through the same publication, and a Firefox viewer
(Debian's firefox-esr) watches through Janus too.

Janus never gathers ICE candidates on a loopback interface (janus_ice_setup_local in its ice.c skips
every IFF_LOOPBACK interface, whatever ice_enforce_list, nat_1_1_mapping or the IPv6 settings say), so
on a host whose only interface is `lo` every PeerConnection to it fails with "Error gathering
candidates". The fixture below gives it a veth pair whose two ends both stay in the namespace, with
an address from TEST-NET-1 (RFC 5737): packets to it are delivered locally, and nothing can leave
(e2e_tests/network.py; Janus itself is started by e2e_tests/janus_process.py).

    unshare -n sh -c 'ip link set lo up && .venv/bin/python -m pytest -q e2e_tests/test_janus.py'
"""
import contextlib
import json
import time
import urllib.request

import pytest

from e2e_tests.conftest import launch_engine_or_skip, wait_until
from e2e_tests.engines import wait_until as engine_wait_until
from e2e_tests.engines.probes import picture as engine_picture
from e2e_tests.janus_process import DIRECT, JANUS, LOG_TAIL_LINES, JanusError, RunningJanus, start_janus
from e2e_tests.network import LOOPBACK_ONLY, MediaLinkError, add_media_link, remove_media_link
from e2e_tests.sharing import (
    BACKGROUND_MAX_DIFF, CLIP_SIZE, MEDIA_TIMEOUT_S, PAGE_TIMEOUT_S, audio_arrives, background_diff, drop_and_rejoin,
    frames_advance, live_viewers, present, remote_picture, sent_audio_once_heard,
)
from tests.server_process import start_server, stop_server

ROOM_GONE_TIMEOUT_S = 10  # from "End broadcast" to the room's end in Janus
PASSCODE = "blue-owl-42"
HUNG_SESSION_TIMEOUT_S = 600  # longer than this module runs
RESUME_KEY = "vbg.share.v1"  # static/js/ui/share_panel.js: the open broadcast, kept by the tab

# Someone with the link but not the passcode, on our own origin with our own Janus client: every way in
# to the broadcast's Janus room it can try, each reported as 'accepted' or 'refused: why'. The room
# number and pin are worked out from the link's room id, as they once were.
INTRUDE_JS = """async ({ roomId, feed }) => {
  const { openJanusSession } = await import('/static/js/share/janus_client.js');
  const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let room = 0;
  for (const char of roomId.slice(0, 8)) room = room * 64 + BASE64URL.indexOf(char);
  const pin = roomId;
  const outcomes = {};
  const session = await openJanusSession({ url: '/janus', onLost: () => {} });
  async function attempt(name, steps) {
    try {
      await steps(await session.attach('janus.plugin.videoroom'));
      outcomes[name] = 'accepted';
    } catch (error) {
      outcomes[name] = `refused: ${error.message}`;
    }
  }
  await attempt('create a room', (handle) => handle.request({ request: 'create', room: room + 1, permanent: false }));
  await attempt('subscribe with the pin from the link', async (handle) => {
    const offered = await handle.request({ request: 'join', ptype: 'subscriber', room, pin, streams: [{ feed }] });
    if (!offered.jsep) throw new Error('no offer');
  });
  await attempt('subscribe with no pin',
    (handle) => handle.request({ request: 'join', ptype: 'subscriber', streams: [{ feed }] }));
  await attempt('subscribe with a made-up credential',
    (handle) => handle.request({ request: 'join', ptype: 'subscriber', token: 'made-up', streams: [{ feed }] }));
  await attempt('publish with the pin from the link', async (handle) => {
    await handle.request({ request: 'join', ptype: 'publisher', room, pin });
    const canvas = document.createElement('canvas');
    canvas.getContext('2d').fillRect(0, 0, canvas.width, canvas.height);
    const pc = new RTCPeerConnection();
    pc.addTransceiver(canvas.captureStream(5).getVideoTracks()[0], { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const published = await handle.request({ request: 'publish' }, pc.localDescription.toJSON());
    await pc.setRemoteDescription(published.jsep);
    window.intruderLink = pc; // kept open: the slot stays taken
  });
  await attempt('a credential from the room socket', () => new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://${location.host}/ws`);
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: 'join', room: roomId, role: 'viewer' }));
      socket.send(JSON.stringify({ type: 'janus-token' }));
    };
    socket.onmessage = ({ data }) => {
      const message = JSON.parse(data);
      if (message.type === 'janus-token') resolve();
      if (message.type === 'error') reject(new Error(message.code));
    };
    socket.onclose = () => reject(new Error('closed'));
  }));
  await attempt('destroy the room', (handle) => handle.request({ request: 'destroy', room }));
  return outcomes;
}"""

pytestmark = [
    pytest.mark.skipif(not LOOPBACK_ONLY, reason="WebRTC tests run only in a loopback-only network namespace: "
                       "run scripts/test.sh as root"),
    pytest.mark.skipif(JANUS is None, reason="Janus is not installed: apt-get install -y janus (Debian's package)"),
]


@pytest.fixture(scope="module")
def media_interface():
    """A non-loopback interface for Janus's ICE that goes nowhere: a veth pair inside this namespace, with
    the default route into it so that Firefox counts itself online and gathers candidates."""
    try:
        name = add_media_link(default_route=True)
    except MediaLinkError as error:
        pytest.skip(f"cannot make a veth pair for Janus's ICE (needs root in the namespace): {error}")
    yield name
    remove_media_link()


@pytest.fixture(scope="module")
def janus(tmp_path_factory, media_interface):
    """Janus with deploy/janus's configuration on a free loopback port, its log in a temporary file."""
    # A hung tab's Janus session (no more keepalives) lingers up to session_timeout, holding its publisher
    # slot: here for the whole module, so only the server's kick frees the slot for a presenter who comes back.
    try:
        running = start_janus(tmp_path_factory.mktemp("janus"), media_interface, HUNG_SESSION_TIMEOUT_S)
    except JanusError as error:
        pytest.fail(str(error))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def server(janus):
    """Our server in Janus mode (overrides conftest's peer-to-peer server for this module)."""
    running = start_server(["--sfu", "janus", "--janus-url", janus.url])
    yield running
    stop_server(running)


def _janus(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps({**body, "transaction": "test"}).encode(),
                                     headers={"Content-Type": "application/json"})
    with DIRECT.open(request, timeout=5) as answer:
        return json.load(answer)


def janus_room_exists(janus: RunningJanus, number: int) -> bool:
    """Ask Janus itself (not through our proxy) whether a VideoRoom exists."""
    session = _janus(janus.url, {"janus": "create"})["data"]["id"]
    try:
        handle = _janus(f"{janus.url}/{session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"})["data"]["id"]
        answer = _janus(f"{janus.url}/{session}/{handle}",
                        {"janus": "message", "body": {"request": "exists", "room": number}})
        return answer["plugindata"]["data"]["exists"]
    finally:
        _janus(f"{janus.url}/{session}", {"janus": "destroy"})


@contextlib.contextmanager
def janus_log_on_failure(janus: RunningJanus):
    """Print the tail of Janus's log (shown with the failure) if the block fails."""
    try:
        yield
    except BaseException:
        print(f"--- the last {LOG_TAIL_LINES} lines of Janus's log ({janus.log}):\n{janus.log_tail()}")
        raise


def test_viewers_watch_through_janus_and_are_told_when_it_ends(janus, server, new_page, share_clip):
    _, masks = share_clip
    with janus_log_on_failure(janus):
        presenter, link = present(new_page, server)
        viewers = live_viewers(new_page, presenter, link)

        # One stream leaves the presenter, to Janus; each viewer is subscribed to its feed there.
        assert presenter.evaluate("[...window.vbg.share.broadcast.viewerLinks.keys()]") == ["janus"]
        feeds = {viewer.evaluate("window.vbg.viewer.link.feed") for viewer in viewers}
        assert len(feeds) == 1 and isinstance(feeds.pop(), int)
        room_number = presenter.evaluate("window.vbg.share.broadcast.janusRoom")
        assert janus_room_exists(janus, room_number)

        # Only the composited picture leaves: the room behind the person is magenta at every viewer.
        for viewer in viewers:
            diff = background_diff(remote_picture(viewer, "#remote"), masks[0])
            assert diff < BACKGROUND_MAX_DIFF, f"the viewer's background is {diff:.0f} levels from magenta"

        presenter.get_by_role("button", name="End broadcast").click()
        for viewer in viewers:
            wait_until(viewer, "window.vbg.state === 'ended'", MEDIA_TIMEOUT_S)
            assert "ended" in viewer.inner_text("#watch-status")
        deadline = time.monotonic() + ROOM_GONE_TIMEOUT_S
        while janus_room_exists(janus, room_number):  # the server destroys it as the broadcast ends
            assert time.monotonic() < deadline, "the Janus room outlived the broadcast"
            time.sleep(0.2)


def test_a_firefox_viewer_watches_through_janus(janus, server, new_page, share_clip, display, request):
    _, masks = share_clip
    firefox = launch_engine_or_skip("firefox", display, request, camera=False)
    try:
        with janus_log_on_failure(janus):
            presenter, link = present(new_page, server)
            viewer = firefox.open(link)
            engine_wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
            assert isinstance(viewer.evaluate("window.vbg.viewer.link.feed"), int)  # subscribed at Janus
            frames_advance(viewer, wait=engine_wait_until)
            diff = background_diff(engine_picture(viewer, CLIP_SIZE, "#remote"), masks[0])
            assert diff < BACKGROUND_MAX_DIFF, f"the Firefox viewer's background is {diff:.0f} levels from magenta"
            presenter.get_by_role("button", name="End broadcast").click()
            engine_wait_until(viewer, "window.vbg.state === 'ended'", MEDIA_TIMEOUT_S)
            errors = viewer.errors()
            assert not errors, "the Firefox page reported errors:\n" + "\n".join(errors)
    finally:
        firefox.close()


def test_a_viewer_whose_connection_drops_subscribes_again(janus, server, new_page):
    with janus_log_on_failure(janus):
        _, link = present(new_page, server)
        viewer = new_page(link).page
        wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
        drop_and_rejoin(viewer)


def test_a_presenter_turns_the_microphone_on_while_live_through_janus(janus, server, new_page):
    """Started without sound: the publication to Janus carries silence, and the microphone turned on
    later takes its place there (no new publication) and reaches the viewer."""
    with janus_log_on_failure(janus):
        presenter, link = present(new_page, server, microphone=False)
        viewer = new_page(link).page
        wait_until(viewer, "window.vbg.state === 'live' && window.vbg.presenter.muted", MEDIA_TIMEOUT_S)
        publication = presenter.evaluate("window.vbg.share.broadcast.janusRoom")
        presenter.get_by_role("button", name="Turn on microphone").click()
        wait_until(viewer, "!window.vbg.presenter.muted", MEDIA_TIMEOUT_S)
        sent = sent_audio_once_heard(presenter)
        assert sent["links"] == 1 and sent["energy"] > 0 and sent["sendsMicrophone"], sent
        assert presenter.evaluate("window.vbg.share.broadcast.janusRoom") == publication
        audio_arrives(viewer)


def _watch_with_passcode(new_page, link):
    """A viewer who was given the passcode, live."""
    viewer = new_page(link).page
    viewer.fill("#passcode-input", PASSCODE)
    viewer.get_by_role("button", name="Watch").click()
    wait_until(viewer, "window.vbg.state === 'live'", MEDIA_TIMEOUT_S)
    return viewer


def _intrude(new_page, link, feed) -> dict:
    """What someone with the link and no passcode achieves: {attempt: 'accepted' | 'refused: why'}."""
    intruder = new_page(link, expect_errors=True).page  # the refusals show as failed requests
    assert intruder.locator("#passcode-form").is_visible()
    room_id = link.split("/watch/")[1].split("#")[0]
    return intruder.evaluate(INTRUDE_JS, {"roomId": room_id, "feed": feed})


def test_the_link_without_the_passcode_neither_watches_nor_publishes(janus, server, new_page):
    with janus_log_on_failure(janus):
        presenter, link = present(new_page, server, passcode=PASSCODE)
        viewer = _watch_with_passcode(new_page, link)
        feed = viewer.evaluate("window.vbg.viewer.link.feed")

        outcomes = _intrude(new_page, link, feed)
        accepted = [name for name, outcome in outcomes.items() if not outcome.startswith("refused")]
        assert not accepted, f"let in without the passcode: {outcomes}"

        # The broadcast goes on untouched, counted right.
        frames_advance(viewer)
        assert presenter.evaluate("window.vbg.share.viewers") == 1


def test_a_presenter_who_comes_back_takes_its_publisher_slot_back(janus, server, new_page):
    """The presenter's tab hangs (its publication stays in Janus, holding the room's one publisher slot)
    and the presenter resumes the broadcast from a new tab; meanwhile someone with the link tries to take
    the slot."""
    with janus_log_on_failure(janus):
        presenter, link = present(new_page, server, passcode=PASSCODE)
        viewer = _watch_with_passcode(new_page, link)
        feed = viewer.evaluate("window.vbg.viewer.link.feed")
        room_number = presenter.evaluate("window.vbg.share.broadcast.janusRoom")
        saved = presenter.evaluate(f"sessionStorage.getItem('{RESUME_KEY}')")

        # Hang the tab: its script stops (no keepalive, no goodbye), its PeerConnection to Janus stays up.
        debugger = presenter.context.new_cdp_session(presenter)
        debugger.send("Debugger.enable")
        debugger.send("Debugger.pause")

        outcomes = _intrude(new_page, link, feed)
        accepted = [name for name, outcome in outcomes.items() if not outcome.startswith("refused")]
        assert not accepted, f"let in without the passcode: {outcomes}"

        back = new_page(server.url, init_script=f"sessionStorage.setItem('{RESUME_KEY}', {json.dumps(saved)})").page
        back.get_by_role("button", name="Enable camera").click()
        wait_until(back, "window.vbg.stats && window.vbg.stats.personVisible", PAGE_TIMEOUT_S)
        back.get_by_role("button", name="Resume sharing").click()
        assert wait_until(back, "window.vbg.share.state === 'live' && window.vbg.share.link", PAGE_TIMEOUT_S) == link
        # The hung tab still holds the slot (session_timeout above): only the server's kick frees it.
        wait_until(back, "window.vbg.share.broadcast.viewerLinks.get('janus')?.pc.connectionState === 'connected'",
                   MEDIA_TIMEOUT_S)
        assert back.evaluate("window.vbg.share.broadcast.janusRoom") == room_number  # the same room
        wait_until(viewer, f"window.vbg.state === 'live' && window.vbg.viewer.link.feed !== {feed}", MEDIA_TIMEOUT_S)
        frames_advance(viewer)
