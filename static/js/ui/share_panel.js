/** The "Share" card of the home page: start a broadcast of the composited picture, hand out the
 * link (copy, QR code), see how many watch, end it. */
import { createRoom } from '../share/rooms_api.js';
import { startBroadcast } from '../share/broadcast_presenter.js';
import { startJanusBroadcast } from '../share/janus_broadcast.js';
import { socketUrl } from '../share/signalling.js';
import { roomLink, isLoopbackOrigin } from '../share/share_link.js';
import { UserError } from '../user_error.js';
import { webrtcProblem } from '../share/webrtc_support.js';
import { openOutgoingAudio, outgoingStream } from '../share/microphone.js';
import { bindCopyButton } from './copy_button.js';
import { bindMicrophoneOnButton } from './microphone_button.js';
import { publishDiagnostics } from '../diagnostics.js';

// sessionStorage (this tab only, survives a reload): the open broadcast, so a presenter who reloads
// or whose tab crashed picks it up again and the class keeps its link.
const RESUME_KEY = 'vbg.share.v1';
// The link's QR code is drawn here, never fetched: the link may carry the passcode, which must not reach
// the server or its logs (share_link.js).
const QR_ERROR_CORRECTION = 'M'; // about 15% of the code may be lost: survives a smudged screen
const QR_TYPE_AUTO = 0; // the smallest QR version that holds the link
const QR_CELL = 4; // SVG units per module; the <img> scales the picture anyway
const QR_QUIET_ZONE = 4 * QR_CELL; // the four blank modules around the code that scanners look for
const PASSCODE_MASK_CHARS = 6; // dots shown for a hidden passcode, whatever its length

/** The "LIVE" badge over the presenter's own preview (hidden until a broadcast is live). */
function createLiveBadge() {
  const badge = document.createElement('p');
  badge.className = 'overlay badge badge-live';
  badge.id = 'share-live-badge';
  badge.hidden = true;
  const word = document.createElement('span');
  word.className = 'live-word';
  word.textContent = 'Live';
  badge.append(word, document.createElement('span'));
  document.getElementById('output').parentElement.append(badge);
  return badge;
}

/** An SVG data: URL of the QR code of `text` (UTF-8, byte mode), drawn with the vendored qrcode-generator. */
export function qrCodeUrl(qrcode, text) {
  const code = qrcode(QR_TYPE_AUTO, QR_ERROR_CORRECTION);
  // The library takes one character per byte: hand it the UTF-8 bytes so any text encodes as written.
  code.addData(String.fromCharCode(...new TextEncoder().encode(text)), 'Byte');
  code.make();
  const svg = code.createSvgTag({ cellSize: QR_CELL, margin: QR_QUIET_ZONE, scalable: true });
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

/** Text for the number of viewers, said to the presenter while live. */
export function viewersText(count) {
  if (count === 0) return 'You\'re live. Nobody is watching yet.';
  return count === 1 ? 'You\'re live to 1 person.' : `You're live to ${count} people.`;
}

/** What viewers see, said to the presenter (the words are the viewer page's, watch_main.js). */
export function viewersSeeText({ cameraOff, muted }) {
  if (cameraOff) return 'Viewers see: "The presenter paused their camera". Enable the camera to go on.';
  return muted ? 'Viewers see your picture, without sound.' : 'Viewers see your picture.';
}

/**
 * @param {{studio, config, message}} options  studio: from startStudio (outputStream, onCameraChange);
 *   config: the page's client config (signalUrl, qrcodeModuleUrl); message: the page's message box.
 */
export function bindSharePanel({ studio, config, message }) {
  const $ = (id) => document.getElementById(id);
  const setup = $('share-setup');
  const live = $('share-live');
  const startButton = $('share-start');
  const hint = $('share-hint');
  const linkInput = $('share-link');
  const includePasscodeRow = $('share-include-passcode-row');
  const includePasscode = $('share-include-passcode');
  const viewers = $('share-viewers-text');
  const muteButton = $('share-mute');
  const microphoneOnButton = $('share-microphone-on');
  const passcodeValue = $('share-passcode-value');
  const revealButton = $('share-passcode-reveal');
  const liveBadge = createLiveBadge();
  const share = {
    state: 'idle', room: null, link: null, viewers: 0, broadcast: null, passcode: '',
    audio: null, // openOutgoingAudio's: the microphone, or the silence a microphone turned on later replaces
    get microphone() { return share.audio?.microphone ?? null; },
    get silence() { return share.audio?.silence ?? null; },
    muted: false, cameraOff: false, // what viewers are told
  };
  publishDiagnostics({ share });
  let qrLibrary = null; // the import of qrcode-generator, started the first time a link is shown

  function refreshStartButton(running) {
    startButton.disabled = !running || share.state === 'starting';
    hint.hidden = running;
  }

  /** The badge on the preview, the card's words and the mute button, from `share`. */
  function refreshLive() {
    const live = share.state === 'live';
    liveBadge.hidden = !live;
    if (!live) return;
    viewers.textContent = viewersText(share.viewers);
    liveBadge.lastChild.textContent = share.cameraOff ? 'Camera paused' : `${share.viewers} watching`;
    $('share-viewers-see').textContent = viewersSeeText(share);
    muteButton.hidden = !share.microphone;
    microphoneOnButton.hidden = Boolean(share.microphone) || !share.silence;
    $('share-no-sound').hidden = Boolean(share.microphone) || Boolean(share.silence);
    muteButton.setAttribute('aria-pressed', String(share.muted));
    $('share-mute-label').textContent = share.muted ? 'Unmute microphone' : 'Mute microphone';
  }

  function setMuted(muted) {
    share.muted = muted;
    if (share.microphone) share.microphone.enabled = !muted; // a disabled track sends silence
    share.broadcast?.setState({ muted });
    refreshLive();
  }

  /** Send the microphone from now on, in place of the silence the broadcast started with. */
  async function useMicrophone(microphone) {
    await share.audio.useMicrophone(microphone, share.broadcast.replaceAudio);
    setMuted(false);
  }

  function onCameraChange(running) {
    refreshStartButton(running);
    if (share.state !== 'live') return;
    share.cameraOff = !running;
    share.broadcast?.setState({ cameraOff: share.cameraOff });
    refreshLive();
  }

  function showPasscode(revealed) {
    revealButton.dataset.revealed = String(revealed);
    revealButton.textContent = revealed ? 'Hide' : 'Show';
    revealButton.setAttribute('aria-label', revealed ? 'Hide passcode' : 'Show passcode');
    passcodeValue.textContent = revealed ? share.passcode : '•'.repeat(PASSCODE_MASK_CHARS);
  }

  function showLink() {
    share.link = roomLink(share.url, includePasscode.checked ? share.passcode : '');
    linkInput.value = share.link;
    drawQrCode(share.link);
  }

  async function drawQrCode(link) {
    qrLibrary ??= import(config.qrcodeModuleUrl);
    const { default: qrcode } = await qrLibrary;
    if (share.link === link) $('share-qr').src = qrCodeUrl(qrcode, link); // not a link replaced meanwhile
  }

  function savedBroadcast() {
    try {
      return JSON.parse(sessionStorage.getItem(RESUME_KEY) ?? 'null');
    } catch {
      return null;
    }
  }

  async function start() {
    const stream = studio.outputStream;
    if (!stream) return;
    const unsupported = webrtcProblem('share');
    if (unsupported) { // before a room is made: nobody could ever watch it
      message.show('share', unsupported);
      return;
    }
    share.state = 'starting';
    refreshStartButton(true);
    message.clear('share');
    try {
      // Spaces around a passcode do not count (the server trims them as well): it is shown back as it works.
      const typed = $('share-passcode').value.trim();
      const room = savedBroadcast() ?? await createRoom('broadcast', typed);
      room.passcode ??= typed;
      sessionStorage.setItem(RESUME_KEY, JSON.stringify(room));
      share.passcode = room.passcode;
      share.audio = await openOutgoingAudio($('share-microphone').checked);
      if (share.audio.blocked) {
        message.show('share', new UserError('Sharing without sound.', 'The microphone is blocked or missing; viewers see the picture only. Allow it for this site, then press "Turn on microphone".'));
      }
      const sendStream = outgoingStream(stream, share.audio.track);
      Object.assign(share, { room: room.room, url: room.url, viewers: 0, muted: !share.microphone, cameraOff: !studio.running });
      share.broadcast = (config.sfu === 'janus' ? startJanusBroadcast : startBroadcast)({
        signalUrl: socketUrl(config.signalUrl),
        room: room.room,
        hostToken: room.hostToken,
        iceServers: config.iceServers,
        stream: sendStream,
        onViewers: (count) => {
          share.viewers = count;
          refreshLive();
        },
        onStatus: onBroadcastStatus,
      });
      if (share.cameraOff || share.muted) share.broadcast.setState({ cameraOff: share.cameraOff, muted: share.muted });
      includePasscodeRow.hidden = !share.passcode;
      $('share-passcode-row').hidden = !share.passcode;
      showPasscode(false);
      showLink();
      $('share-loopback').hidden = !isLoopbackOrigin();
      setup.hidden = true;
      live.hidden = false;
      share.state = 'live';
      refreshLive();
    } catch (error) {
      share.state = 'idle';
      share.audio?.stop();
      share.audio = null;
      message.show('share', error);
    } finally {
      refreshStartButton(studio.running);
    }
  }

  function onBroadcastStatus(status, detail) {
    if (status === 'reconnecting') {
      message.show('share', new UserError('Connection to the server lost.', 'Reconnecting; viewers get the picture back when it returns.'));
    } else if (status === 'joined') {
      message.clear('share');
    } else if (status === 'failed' || (status === 'ended' && detail !== 'presenter-ended')) {
      message.show('share', new UserError('The broadcast stopped.', detail?.message ?? 'The server closed it. Share again for a new link.'));
      stop();
    }
  }

  function stop() {
    sessionStorage.removeItem(RESUME_KEY);
    startButton.textContent = 'Share by link';
    share.broadcast?.end();
    share.broadcast = null;
    share.audio?.stop();
    share.audio = null;
    share.state = 'idle';
    share.room = null;
    refreshLive();
    live.hidden = true;
    setup.hidden = false;
    refreshStartButton(studio.running);
  }

  startButton.addEventListener('click', start);
  $('share-end').addEventListener('click', stop);
  includePasscode.addEventListener('change', showLink);
  muteButton.addEventListener('click', () => setMuted(!share.muted));
  bindMicrophoneOnButton(microphoneOnButton, {
    message, topic: 'share', wanted: () => share.state === 'live' && Boolean(share.silence), use: useMicrophone,
  });
  revealButton.addEventListener('click', () => showPasscode(revealButton.dataset.revealed !== 'true'));
  bindCopyButton($('share-copy'), linkInput);
  studio.onCameraChange(onCameraChange);
  // Closing or reloading the tab does not end the broadcast: the room waits for its presenter (the
  // server keeps it for a grace period) and viewers see "Waiting for the presenter". "End broadcast" ends it.
  if (savedBroadcast()) {
    startButton.textContent = 'Resume sharing';
    hint.textContent = 'Your broadcast is still open. Enable the camera, then resume it: viewers keep their link.';
  }
  return share;
}
