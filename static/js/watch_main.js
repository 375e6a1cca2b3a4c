/** Entry point of /watch/<room>: receive a presenter's composited stream and say what is going on. */
import { readClientConfig } from './config.js';
import { socketUrl } from './share/signalling.js';
import { watchBroadcast } from './share/broadcast_viewer.js';
import { watchJanusBroadcast } from './share/janus_broadcast.js';
import { createMessageBox } from './ui/message.js';
import { passcodeFromHash } from './share/share_link.js';

// What the viewer reads for each state of the connection: [headline, advice].
const STATUS_TEXT = Object.freeze({
  connecting: ['Connecting…', ''],
  joined: ['Connecting to the presenter…', ''],
  waiting: ['Waiting for the presenter…', 'The picture appears as soon as the presenter shares. Keep this page open.'],
  reconnecting: ['Reconnecting…', 'The connection dropped; the picture comes back by itself.'],
  ended: ['The broadcast has ended.', 'The presenter ended it. You can close this page.'],
  closed: ['Disconnected.', 'Reload the page to watch again.'],
});
// Why a broadcast ended (the server's `ended` reason), when it was not the presenter's choice.
const ENDED_TEXT = Object.freeze({
  'server-shutdown': ['The broadcast has ended: the server was stopped.', 'Ask the presenter for a new link once it is back.'],
  expired: ['The broadcast has ended.', 'The presenter was away too long. Ask for a new link.'],
});

function startWatching() {
  const config = readClientConfig();
  const video = document.getElementById('remote');
  const placeholder = document.getElementById('watch-placeholder');
  const statusLine = document.getElementById('watch-status');
  const adviceLine = document.getElementById('watch-advice');
  const unmute = document.getElementById('unmute');
  const form = document.getElementById('passcode-form');
  const message = createMessageBox(document.getElementById('message'));
  const watch = { state: 'connecting', framesReceived: 0, viewer: null };
  window.vbg = watch;

  // Counting frames proves the picture moves (a frozen stream would stop the count).
  const countFrame = () => {
    watch.framesReceived += 1;
    video.requestVideoFrameCallback(countFrame);
  };
  video.requestVideoFrameCallback(countFrame);

  function show(state, detail) {
    if (state === 'error') return; // a message of ours the server refused: the broadcast goes on
    watch.state = state;
    if (state === 'live') {
      placeholder.hidden = true;
      message.clear('watch');
      return;
    }
    if (state === 'failed') {
      placeholder.hidden = false;
      statusLine.textContent = 'Cannot watch this broadcast.';
      adviceLine.textContent = '';
      if (detail?.code === 'wrong-passcode') {
        message.show('watch', { title: 'Wrong passcode.', advice: 'Check the passcode with the presenter and try again.' });
        form.hidden = false;
      } else {
        message.show('watch', { title: detail?.message ?? 'The server refused.', advice: 'Ask the presenter for a new link.' });
      }
      return;
    }
    const text = state === 'ended' ? (ENDED_TEXT[detail] ?? STATUS_TEXT.ended) : STATUS_TEXT[state];
    if (!text) return;
    placeholder.hidden = false;
    [statusLine.textContent, adviceLine.textContent] = text;
    if (state === 'ended') video.srcObject = null;
  }

  function start(passcode) {
    watch.viewer?.leave();
    watch.viewer = (config.sfu === 'janus' ? watchJanusBroadcast : watchBroadcast)({
      signalUrl: socketUrl(config.signalUrl),
      room: config.room,
      passcode,
      iceServers: config.iceServers,
      onStream: (stream) => {
        if (video.srcObject !== stream) video.srcObject = stream;
        unmute.hidden = stream.getAudioTracks().length === 0 || !video.muted;
        video.play().catch(() => {});
      },
      onStatus: show,
    });
  }

  unmute.addEventListener('click', () => {
    video.muted = false;
    unmute.hidden = true;
  });
  document.getElementById('fullscreen').addEventListener('click', () => video.requestFullscreen?.());
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    form.hidden = true;
    message.clear('watch');
    start(document.getElementById('passcode-input').value);
  });

  const passcode = passcodeFromHash(location.hash);
  if (config.hasPasscode && !passcode) {
    form.hidden = false;
    statusLine.textContent = 'This broadcast has a passcode.';
    adviceLine.textContent = 'Enter the passcode the presenter gave you.';
    document.getElementById('passcode-input').focus();
  } else {
    start(passcode);
  }
}

startWatching();
