/** The "Meeting" card of /meet/<room>: join with the composited picture, mute, camera off, leave. */
import { joinMeeting } from '../share/meeting.js';
import { socketUrl } from '../share/signalling.js';
import { roomLink, passcodeFromHash } from '../share/share_link.js';
import { UserError } from '../user_error.js';
import { openMicrophone, outgoingStream } from '../share/microphone.js';
import { bindCopyButton } from './copy_button.js';
import { createParticipantGrid } from './participant_grid.js';

const NAME_KEY = 'vbg.meeting.name'; // localStorage: the name is asked once per browser

/** Text for the number of people in the room, this user included. */
export function countText(others) {
  return others === 0 ? 'You are the only one here.' : `You and ${others} other${others === 1 ? '' : 's'}.`;
}

export function bindMeetingPanel({ studio, config, message }) {
  const $ = (id) => document.getElementById(id);
  const joinButton = $('meeting-join');
  const nameInput = $('meeting-name');
  const grid = createParticipantGrid($('participant-grid'), $('participants-empty'));
  const meeting = { state: 'idle', session: null, microphone: null, grid };
  window.vbg.meeting = meeting;

  const hashPasscode = passcodeFromHash(location.hash);
  $('meeting-passcode-field').hidden = !config.hasPasscode || Boolean(hashPasscode);
  nameInput.value = localStorage.getItem(NAME_KEY) ?? '';
  $('meeting-link').value = roomLink(location.pathname);
  bindCopyButton($('meeting-copy'), $('meeting-link'));

  function refresh() {
    $('meeting-count').textContent = countText(grid.tiles.size);
  }

  function setLive(live) {
    $('meeting-setup').hidden = live;
    $('meeting-live').hidden = !live;
    joinButton.disabled = !studio.running || live;
  }

  function onStatus(status, detail) {
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

  async function join() {
    const stream = studio.outputStream;
    if (!stream) return;
    joinButton.disabled = true;
    localStorage.setItem(NAME_KEY, nameInput.value.trim());
    meeting.microphone = await openMicrophone();
    if (!meeting.microphone) {
      message.show('meeting', new UserError('Joined without sound.', 'The microphone is blocked or missing; the others see you but cannot hear you.'));
    }
    const sendStream = outgoingStream(stream, meeting.microphone);
    meeting.session = joinMeeting({
      signalUrl: socketUrl(config.signalUrl),
      room: config.room,
      passcode: hashPasscode || $('meeting-passcode').value,
      name: nameInput.value.trim(),
      iceServers: config.iceServers,
      stream: sendStream,
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
    refresh();
    setLive(true);
  }

  function leave() {
    meeting.session?.leave();
    meeting.session = null;
    meeting.microphone?.stop();
    meeting.microphone = null;
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
  $('meeting-mute').addEventListener('click', (event) => toggle(event.currentTarget, (on) => meeting.session?.setMuted(on)));
  $('meeting-camera-off').addEventListener('click', (event) => toggle(event.currentTarget, (on) => meeting.session?.setCameraOff(on)));
  studio.onCameraChange((running) => {
    joinButton.disabled = !running || Boolean(meeting.session);
    $('meeting-hint').hidden = running;
  });
  window.addEventListener('pagehide', () => meeting.session?.leave());
  return meeting;
}
