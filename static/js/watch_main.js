/** Entry point of /watch/<room>: receive a presenter's composited stream and say what is going on. */
import { readClientConfig } from './config.js';
import { socketUrl } from './share/signalling.js';
import { watchBroadcast, PRESENTER_DEFAULT_STATE } from './share/broadcast_viewer.js';
import { watchJanusBroadcast } from './share/janus_broadcast.js';
import { watchFrames } from './share/frame_watch.js';
import { createMessageBox } from './ui/message.js';
import { bindSoundControl } from './ui/sound_control.js';
import { passcodeFromHash } from './share/share_link.js';
import { publishDiagnostics } from './diagnostics.js';
import { webrtcProblem } from './share/webrtc_support.js';

// What the viewer reads for each state of the connection: [headline, advice].
const STATUS_TEXT = Object.freeze({
  connecting: ['Connecting…', ''],
  joined: ['Connecting to the presenter…', ''],
  waiting: ['Waiting for the presenter to start…', 'The picture appears by itself as soon as the presenter shares. Keep this page open.'],
  reconnecting: ['Reconnecting…', 'The connection dropped; the picture comes back by itself.'],
  ended: ['The broadcast has ended.', 'The presenter ended it. You can close this page.'],
  closed: ['Disconnected.', 'Reload the page to watch again.'],
});
// Why a broadcast ended (the server's `ended` reason), when it was not the presenter's choice.
const ENDED_TEXT = Object.freeze({
  'server-shutdown': ['The broadcast has ended: the server was stopped.', 'Ask the presenter for a new link once it is back.'],
  expired: ['The broadcast has ended.', 'The presenter was away too long. Ask for a new link.'],
});
// Over a live picture that stopped moving: [headline, advice].
const PAUSED_TEXT = Object.freeze({
  camera: ['The presenter paused their camera', 'The picture comes back by itself when they turn it on again.'],
  frozen: ['The picture has stopped', 'Waiting for the presenter\'s picture to come back…'],
});
// While links keep failing (failed_links.js): the network between viewer and presenter blocks the picture.
const BLOCKED_TEXT = ['The picture cannot get through the network.',
  'Your network or the presenter\'s blocks the connection (a firewall, or no relay between two private networks). '
  + 'Still trying; if it stays like this, try another network, or ask whoever runs this site to add a TURN relay (--ice-servers).'];
const ASK_PASSCODE = ['This broadcast has a passcode.', 'Enter the passcode the presenter gave you.'];
const WRONG_PASSCODE = ['Wrong passcode, try again.', 'Check it with the presenter: capital letters count.'];
// States after which nothing more comes: the picture's controls go.
const FINAL_STATES = new Set(['ended', 'failed', 'closed']);
// States in which a picture (perhaps frozen for a moment) is on screen.
const PICTURE_STATES = new Set(['live', 'reconnecting']);

function startWatching() {
  const config = readClientConfig();
  const $ = (id) => document.getElementById(id);
  const video = $('remote');
  const placeholder = $('watch-placeholder');
  const statusLine = $('watch-status');
  const adviceLine = $('watch-advice');
  const form = $('passcode-form');
  const passcodeInput = $('passcode-input');
  const passcodeProblem = $('passcode-problem');
  const fullscreen = $('fullscreen');
  const message = createMessageBox($('message'));
  const sound = bindSoundControl({
    video, prompt: $('tap-for-sound'), toggle: $('sound'), label: $('sound-label'),
    onIcon: $('sound-on-icon'), offIcon: $('sound-off-icon'),
  });
  const frames = watchFrames(video, { onStall: refreshPicture, onResume: refreshPicture });
  const watch = {
    state: 'connecting',
    viewer: null,
    blocked: false, // links failed FAILED_LINKS_BEFORE_ADVICE times in a row, none connected since
    presenter: { ...PRESENTER_DEFAULT_STATE },
    // Counting frames proves the picture moves (a frozen stream would stop the count).
    get framesReceived() { return frames.frames; },
    /** What the overlay over the picture says: 'camera' (paused by the presenter), 'frozen' or null. */
    get paused() {
      if (watch.state !== 'live') return null;
      if (watch.presenter.cameraOff) return 'camera';
      return frames.stalled ? 'frozen' : null;
    },
  };
  publishDiagnostics(watch);

  function hasSound() {
    return Boolean(video.srcObject?.getAudioTracks().length);
  }

  /** The badge, the paused notice and the controls, from the state, the presenter's state and the frames. */
  function refreshPicture() {
    const paused = watch.paused;
    $('watch-paused').hidden = !paused;
    if (paused) [$('watch-paused-title').textContent, $('watch-paused-advice').textContent] = PAUSED_TEXT[paused];
    $('watch-live').hidden = watch.state !== 'live';
    $('watch-live-who').textContent = watch.presenter.muted ? 'Presenter · microphone off' : 'Presenter';
    sound.setAvailable(PICTURE_STATES.has(watch.state) && hasSound() && !watch.blocked);
    sound.setSilent(watch.presenter.muted);
    if (watch.state === 'live') fullscreen.hidden = false;
    if (FINAL_STATES.has(watch.state)) fullscreen.hidden = true;
  }

  function showPlaceholder([title, advice]) {
    placeholder.hidden = false;
    statusLine.textContent = title;
    adviceLine.textContent = advice;
  }

  function askPasscode(problem) {
    form.hidden = false;
    passcodeProblem.hidden = !problem;
    passcodeProblem.textContent = problem ?? '';
    passcodeInput.value = '';
    passcodeInput.focus();
  }

  function show(state, detail) {
    // Not states of the connection: a message of ours the server refused, or one signal of the
    // presenter's this browser could not use (a candidate it cannot parse): the link goes on.
    if (state === 'error' || state === 'peer-error') return;
    watch.state = state;
    if (state === 'reconnecting' && detail?.blocked) watch.blocked = true;
    if (state === 'live' || state === 'waiting' || FINAL_STATES.has(state)) watch.blocked = false;
    frames.expect(state === 'live');
    if (state === 'live') {
      placeholder.hidden = true;
      message.clear('watch');
    } else if (state === 'failed') {
      if (detail?.code === 'wrong-passcode') {
        showPlaceholder(WRONG_PASSCODE);
        askPasscode(WRONG_PASSCODE[0]);
      } else if (detail?.code === 'too-many-attempts') {
        showPlaceholder([ASK_PASSCODE[0], detail.message]);
        askPasscode(detail.message);
      } else {
        showPlaceholder(['Cannot watch this broadcast.', '']);
        message.show('watch', { title: detail?.message ?? 'The server refused.', advice: 'Ask the presenter for a new link.' });
      }
    } else {
      let text = state === 'ended' ? (ENDED_TEXT[detail] ?? STATUS_TEXT.ended) : STATUS_TEXT[state];
      if (watch.blocked) text = BLOCKED_TEXT;
      if (text) showPlaceholder(text);
      if (state === 'ended') video.srcObject = null;
    }
    refreshPicture();
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
        video.play().catch(() => {});
        refreshPicture();
      },
      onStatus: show,
      onPresenterState: (state) => {
        watch.presenter = state;
        refreshPicture();
      },
    });
  }

  fullscreen.addEventListener('click', () => video.requestFullscreen?.());
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    // Spaces around a passcode do not count (the server trims them too): one of only spaces is no passcode.
    const passcode = passcodeInput.value.trim();
    if (!passcode) {
      askPasscode('Type the passcode first.');
      return;
    }
    form.hidden = true;
    passcodeProblem.hidden = true;
    message.clear('watch');
    showPlaceholder(STATUS_TEXT.connecting);
    start(passcode);
  });

  const passcode = passcodeFromHash(location.hash).trim();
  const unsupported = webrtcProblem('watch');
  if (unsupported) {
    // No connection can ever start: say why at once instead of joining the room ("Connecting…" forever).
    watch.state = 'unsupported';
    showPlaceholder([unsupported.title, unsupported.advice]);
  } else if (config.hasPasscode && !passcode) {
    showPlaceholder(ASK_PASSCODE);
    askPasscode(null);
  } else {
    start(passcode);
  }
}

startWatching();
