/** The "Share" card of the home page: start a broadcast of the composited picture, hand out the
 * link (copy, QR code), see how many watch, end it. */
import { createRoom } from '../share/rooms_api.js';
import { startBroadcast } from '../share/broadcast_presenter.js';
import { startJanusBroadcast } from '../share/janus_broadcast.js';
import { socketUrl } from '../share/signalling.js';
import { roomLink, isLoopbackOrigin } from '../share/share_link.js';
import { UserError } from '../user_error.js';
import { openMicrophone, outgoingStream } from '../share/microphone.js';
import { bindCopyButton } from './copy_button.js';

// sessionStorage (this tab only, survives a reload): the open broadcast, so a presenter who reloads
// or whose tab crashed picks it up again and the class keeps its link.
const RESUME_KEY = 'vbg.share.v1';
// The link's QR code is drawn here, never fetched: the link may carry the passcode, which must not reach
// the server or its logs (share_link.js).
const QR_ERROR_CORRECTION = 'M'; // about 15% of the code may be lost: survives a smudged screen
const QR_TYPE_AUTO = 0; // the smallest QR version that holds the link
const QR_CELL = 4; // SVG units per module; the <img> scales the picture anyway
const QR_QUIET_ZONE = 4 * QR_CELL; // the four blank modules around the code that scanners look for

/** An SVG data: URL of the QR code of `text` (UTF-8, byte mode), drawn with the vendored qrcode-generator. */
export function qrCodeUrl(qrcode, text) {
  const code = qrcode(QR_TYPE_AUTO, QR_ERROR_CORRECTION);
  // The library takes one character per byte: hand it the UTF-8 bytes so any text encodes as written.
  code.addData(String.fromCharCode(...new TextEncoder().encode(text)), 'Byte');
  code.make();
  const svg = code.createSvgTag({ cellSize: QR_CELL, margin: QR_QUIET_ZONE, scalable: true });
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

/** Text for the number of viewers. */
export function viewersText(count) {
  if (count === 0) return 'Nobody is watching yet.';
  return count === 1 ? '1 person is watching.' : `${count} people are watching.`;
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
  const viewers = $('share-viewers');
  const share = { state: 'idle', room: null, link: null, viewers: 0, broadcast: null, microphone: null, passcode: '' };
  window.vbg.share = share;
  let qrLibrary = null; // the import of qrcode-generator, started the first time a link is shown

  function refreshStartButton(running) {
    startButton.disabled = !running || share.state === 'starting';
    hint.hidden = running;
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
    share.state = 'starting';
    refreshStartButton(true);
    message.clear('share');
    try {
      const room = savedBroadcast() ?? await createRoom('broadcast', $('share-passcode').value);
      room.passcode ??= $('share-passcode').value;
      sessionStorage.setItem(RESUME_KEY, JSON.stringify(room));
      share.passcode = room.passcode;
      share.microphone = $('share-microphone').checked ? await openMicrophone() : null;
      if ($('share-microphone').checked && !share.microphone) {
        message.show('share', new UserError('Sharing without sound.', 'The microphone is blocked or missing; viewers see the picture only.'));
      }
      const sendStream = outgoingStream(stream, share.microphone);
      Object.assign(share, { room: room.room, url: room.url, viewers: 0 });
      share.broadcast = (config.sfu === 'janus' ? startJanusBroadcast : startBroadcast)({
        signalUrl: socketUrl(config.signalUrl),
        room: room.room,
        hostToken: room.hostToken,
        iceServers: config.iceServers,
        stream: sendStream,
        onViewers: (count) => {
          share.viewers = count;
          viewers.textContent = viewersText(count);
        },
        onStatus: onBroadcastStatus,
      });
      includePasscodeRow.hidden = !share.passcode;
      showLink();
      $('share-loopback').hidden = !isLoopbackOrigin();
      viewers.textContent = viewersText(0);
      setup.hidden = true;
      live.hidden = false;
      share.state = 'live';
    } catch (error) {
      share.state = 'idle';
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
    share.microphone?.stop();
    share.microphone = null;
    share.state = 'idle';
    share.room = null;
    live.hidden = true;
    setup.hidden = false;
    refreshStartButton(studio.running);
  }

  startButton.addEventListener('click', start);
  $('share-end').addEventListener('click', stop);
  includePasscode.addEventListener('change', showLink);
  bindCopyButton($('share-copy'), linkInput);
  studio.onCameraChange(refreshStartButton);
  // Closing or reloading the tab does not end the broadcast: the room waits for its presenter (the
  // server keeps it for a grace period) and viewers see "Waiting for the presenter". "End broadcast" ends it.
  if (savedBroadcast()) {
    startButton.textContent = 'Resume sharing';
    hint.textContent = 'Your broadcast is still open. Enable the camera, then resume it: viewers keep their link.';
  }
  return share;
}
