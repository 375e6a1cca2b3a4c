/** The "Meeting" card of /meet/<room>: the lobby (who is in, join with the composited picture), then
 * mute, camera off, leave. The stage's data-meeting ("lobby" or "live") lays the page out: once joined,
 * the others come first and one's own picture shrinks to a small self view (app.css). */
import { joinMeeting } from '../share/meeting.js';
import { socketUrl } from '../share/signalling.js';
import { roomLink, passcodeFromHash } from '../share/share_link.js';
import { UserError } from '../user_error.js';
import { webrtcProblem } from '../share/webrtc_support.js';
import { openOutgoingAudio, outgoingStream } from '../share/microphone.js';
import { bindCopyButton } from './copy_button.js';
import { bindMicrophoneOnButton } from './microphone_button.js';
import { createParticipantGrid } from './participant_grid.js';
import { presenceText, watchPresence } from '../share/meeting_presence.js';
import { publishDiagnostics } from '../diagnostics.js';

const NAME_KEY = 'vbg.meeting.name'; // localStorage: the name is asked once per browser

/** Text for the number of people in the room, this user included. */
export function countText(others) {
  return others === 0 ? 'You are the only one here.' : `You and ${others} other${others === 1 ? '' : 's'}.`;
}

export function bindMeetingPanel({ studio, config, message }) {
  const $ = (id) => document.getElementById(id);
  const joinButton = $('meeting-join');
  const nameInput = $('meeting-name');
  const stage = joinButton.closest('.stage');
  const grid = createParticipantGrid($('participant-grid'), $('participants-empty'));
  const meeting = {
    state: 'idle', session: null, grid,
    audio: null, // openOutgoingAudio's: the microphone, or the silence a microphone turned on later replaces
    get microphone() { return meeting.audio?.microphone ?? null; },
    get silence() { return meeting.audio?.silence ?? null; },
  };
  const muteButton = $('meeting-mute');
  const microphoneOnButton = $('meeting-microphone-on');
  publishDiagnostics({ meeting });

  // Without WebRTC nobody could be seen or heard: said at once, and "Join meeting" stays off.
  const unsupported = webrtcProblem('meet');
  if (unsupported) message.show('meeting', unsupported);

  const hashPasscode = passcodeFromHash(location.hash);
  $('meeting-passcode-field').hidden = !config.hasPasscode || Boolean(hashPasscode);
  nameInput.value = localStorage.getItem(NAME_KEY) ?? '';
  $('meeting-link').value = roomLink(location.pathname);
  bindCopyButton($('meeting-copy'), $('meeting-link'));

  function refresh() {
    $('meeting-count').textContent = countText(grid.tiles.size);
  }

  let presence = null; // the lobby's watcher of who is in, while not joined
  let ended = false; // the server says the meeting is over: nothing to join
  function watchLobby() {
    presence?.stop();
    presence = watchPresence(config.room, {
      onCount: (people) => { $('meeting-presence').textContent = presenceText(people); },
      onEnded: () => {
        ended = true;
        $('meeting-presence').textContent = 'This meeting has ended';
        joinButton.disabled = true;
        message.show('meeting', new UserError('This meeting has ended.', 'Ask whoever invited you for a new link.'));
      },
    });
  }

  function setLive(live) {
    $('meeting-setup').hidden = live;
    $('meeting-live').hidden = !live;
    $('participants').hidden = !live;
    $('meeting-heading').textContent = live ? 'In the meeting' : 'Ready to join?';
    stage.dataset.meeting = live ? 'live' : 'lobby';
    joinButton.disabled = !studio.running || live || ended;
    if (live) {
      presence?.stop();
      presence = null;
    } else if (!presence && !ended) {
      watchLobby();
    }
  }

  function onStatus(status, detail) {
    if (status === 'peer-error') return; // one signal of one participant's this browser could not use
    meeting.state = status;
    if (status === 'failed') {
      const wrongPasscode = detail?.code === 'wrong-passcode';
      message.show('meeting', new UserError(wrongPasscode ? 'Wrong passcode.' : 'Cannot join this meeting.',
        wrongPasscode ? 'Check the passcode with whoever invited you and join again.' : (detail?.message ?? 'Ask for a new link.')));
      if (wrongPasscode) $('meeting-passcode-field').hidden = false;
      leave();
    } else if (status === 'reconnecting') {
      message.show('meeting', new UserError('Connection to the server lost.', 'Reconnecting by itself…'));
    } else if (status === 'joined') {
      message.clear('meeting');
    } else if (status === 'ended') {
      message.show('meeting', new UserError('The meeting was closed.', 'The server ended it. Start a new meeting from the home page.'));
      leave();
    }
  }

  /** The microphone buttons: Mute while a microphone goes out, else "Turn on microphone" (if it can). */
  function refreshMicrophone() {
    muteButton.hidden = !meeting.microphone;
    muteButton.setAttribute('aria-pressed', 'false');
    microphoneOnButton.hidden = Boolean(meeting.microphone) || !meeting.silence;
  }

  /** Send the microphone from now on, in place of the silence the meeting was joined with. */
  async function useMicrophone(microphone) {
    await meeting.audio.useMicrophone(microphone, meeting.session.turnOnAudio);
    refreshMicrophone();
  }

  async function join() {
    const stream = studio.outputStream;
    if (!stream || unsupported) return;
    joinButton.disabled = true;
    localStorage.setItem(NAME_KEY, nameInput.value.trim());
    meeting.audio = await openOutgoingAudio($('meeting-microphone').checked);
    if (meeting.audio.blocked) {
      message.show('meeting', new UserError('Joined without sound.', 'The microphone is blocked or missing; the others see you but cannot hear you. Allow it for this site, then press "Turn on microphone".'));
    }
    const sendStream = outgoingStream(stream, meeting.audio.track);
    meeting.session = joinMeeting({
      signalUrl: socketUrl(config.signalUrl),
      room: config.room,
      passcode: hashPasscode || $('meeting-passcode').value,
      name: nameInput.value.trim(),
      iceServers: config.iceServers,
      stream: sendStream,
      muted: !meeting.microphone,
      onPeer: (peerId, info) => {
        grid.update(peerId, info);
        refresh();
      },
      onPeerLeft: (peerId) => {
        grid.remove(peerId);
        refresh();
      },
      onStatus,
    });
    meeting.state = 'joining';
    refreshMicrophone();
    refresh();
    setLive(true);
  }

  function leave() {
    meeting.session?.leave();
    meeting.session = null;
    meeting.audio?.stop();
    meeting.audio = null;
    grid.clear();
    if (meeting.state !== 'failed' && meeting.state !== 'ended') meeting.state = 'left';
    setLive(false);
  }

  function toggle(button, apply) {
    const pressed = button.getAttribute('aria-pressed') !== 'true';
    button.setAttribute('aria-pressed', String(pressed));
    apply(pressed);
  }

  joinButton.addEventListener('click', join);
  $('meeting-leave').addEventListener('click', leave);
  muteButton.addEventListener('click', (event) => toggle(event.currentTarget, (on) => meeting.session?.setMuted(on)));
  bindMicrophoneOnButton(microphoneOnButton, {
    message, topic: 'meeting', wanted: () => Boolean(meeting.session && meeting.silence), use: useMicrophone,
  });
  $('meeting-camera-off').addEventListener('click', (event) => toggle(event.currentTarget, (on) => meeting.session?.setCameraOff(on)));
  studio.onCameraChange((running) => {
    joinButton.disabled = !running || Boolean(meeting.session) || ended || Boolean(unsupported);
    $('meeting-hint').hidden = running;
  });
  setLive(false);
  window.addEventListener('pagehide', () => meeting.session?.leave());
  return meeting;
}
