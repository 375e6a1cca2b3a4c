/** A meeting room (N <-> N mesh): each participant sends its own composited picture to every
 * other participant and receives theirs.
 *
 * The newcomer offers to everyone already in the room; the others wait for its offer. A
 * participant who leaves or crashes is announced by the server (peer-left) and disappears. */
import { openSignalling } from './signalling.js';
import { createPeerLink } from './peer_link.js';
import { replaceAudio } from './microphone.js';

/**
 * @param {{signalUrl, room, passcode?, name?, iceServers, stream: MediaStream, muted?: boolean,
 *          onPeer: (peerId, info: {name, stream?, muted?, cameraOff?}) => void,
 *          onPeerLeft: (peerId) => void, onStatus: (status, detail?) => void}} options
 *   muted: join muted (the others are told; the stream's audio track is not sent until unmuted).
 */
export function joinMeeting({ signalUrl, room, passcode, name, iceServers, stream, muted = false, onPeer, onPeerLeft, onStatus }) {
  const links = new Map(); // peerId -> link
  const names = new Map(); // peerId -> display name
  const own = { muted, cameraOff: false };

  function link(peerId, initiator) {
    links.get(peerId)?.close();
    const created = createPeerLink({
      peerId, iceServers, signalling, initiator, send: stream, receive: true,
      onTrack: (remote) => onPeer(peerId, { name: names.get(peerId), stream: remote }),
      onState: (state) => onPeer(peerId, { name: names.get(peerId), connection: state }),
    });
    links.set(peerId, created);
    if (own.cameraOff) created.replaceTrack('video', null);
    if (own.muted) created.replaceTrack('audio', null);
    return created;
  }

  function drop(peerId) {
    links.get(peerId)?.close();
    links.delete(peerId);
    names.delete(peerId);
    onPeerLeft(peerId);
  }

  function dropAll() {
    for (const peerId of [...links.keys()]) drop(peerId);
  }

  const signalling = openSignalling({
    url: signalUrl,
    join: { room, role: 'participant', ...(passcode ? { passcode } : {}), ...(name ? { name } : {}) },
    onStatus: (status, detail) => {
      if (status === 'reconnecting') dropAll();
      onStatus(status, detail);
    },
    on: {
      joined(message) {
        for (const peer of message.peers) {
          names.set(peer.peerId, peer.name ?? '');
          onPeer(peer.peerId, { name: peer.name ?? '' });
          link(peer.peerId, true);
        }
        if (own.muted || own.cameraOff) signalling.send({ type: 'state', ...own });
      },
      'peer-joined'(message) {
        names.set(message.peer.peerId, message.peer.name ?? '');
        onPeer(message.peer.peerId, { name: message.peer.name ?? '' });
        if (own.muted || own.cameraOff) signalling.send({ type: 'state', ...own });
      },
      'peer-left'(message) {
        drop(message.peerId);
      },
      'peer-state'(message) {
        onPeer(message.peerId, { name: names.get(message.peerId), muted: message.muted, cameraOff: message.cameraOff });
      },
      signal(message) {
        const existing = links.get(message.from) ?? link(message.from, false);
        existing.handle(message.data).catch((error) => onStatus('peer-error', error));
      },
      ended: dropAll,
    },
  });

  async function setOwn(change) {
    Object.assign(own, change);
    const video = own.cameraOff ? null : stream.getVideoTracks()[0] ?? null;
    const audio = own.muted ? null : stream.getAudioTracks()[0] ?? null;
    await Promise.all([...links.values()].flatMap((each) => [each.replaceTrack('video', video), each.replaceTrack('audio', audio)]));
    signalling.send({ type: 'state', ...own });
  }

  return {
    get links() { return links; },
    get peerId() { return signalling.peerId; },
    setMuted: (mute) => setOwn({ muted: mute }),
    /** Send TRACK as the sound from now on (to everyone, and to whoever joins later), unmuted. */
    async turnOnAudio(track) {
      await replaceAudio(stream, [], track); // the links take it from the stream below
      await setOwn({ muted: false });
    },
    setCameraOff: (cameraOff) => setOwn({ cameraOff }),
    leave() {
      signalling.close();
      dropAll();
    },
    dropConnection: () => signalling.dropConnection(),
  };
}
