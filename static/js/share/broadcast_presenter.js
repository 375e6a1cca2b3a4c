/** The presenter's side of a classroom broadcast: one send-only WebRTC link per viewer.
 *
 * Viewers come and go on their own (late joiners, reconnects after a network drop): each new
 * viewer announced by the server gets an offer carrying the composited stream. */
import { openSignalling } from './signalling.js';
import { createPeerLink } from './peer_link.js';
import { replaceAudio } from './microphone.js';

/**
 * @param {{signalUrl: string, room: string, hostToken: string, iceServers: object[], stream: MediaStream,
 *          onViewers: (count: number) => void, onStatus: (status: string, detail?) => void}} options
 */
export function startBroadcast({ signalUrl, room, hostToken, iceServers, stream, onViewers, onStatus }) {
  const links = new Map(); // viewer peerId -> link
  const state = { muted: false, cameraOff: false }; // what viewers are told (a fresh join starts from this)

  function sendState() {
    signalling.send({ type: 'state', ...state });
  }

  function connectViewer(peerId) {
    links.get(peerId)?.close();
    links.set(peerId, createPeerLink({
      peerId, iceServers, signalling, initiator: true, send: stream, receive: false,
    }));
  }

  function dropViewer(peerId) {
    links.get(peerId)?.close();
    links.delete(peerId);
  }

  function dropAll() {
    for (const peerId of [...links.keys()]) dropViewer(peerId);
  }

  const signalling = openSignalling({
    url: signalUrl,
    join: { room, role: 'presenter', hostToken },
    onStatus: (status, detail) => {
      // A reconnect announces every viewer again in `joined`; old links would be orphans.
      if (status === 'reconnecting') dropAll();
      onStatus(status, detail);
    },
    on: {
      joined(message) {
        // The server forgets our state with our socket: a rejoin says it again.
        if (state.muted || state.cameraOff) sendState();
        for (const peer of message.peers) if (peer.role === 'viewer') connectViewer(peer.peerId);
      },
      'peer-joined'(message) {
        if (message.peer.role === 'viewer') connectViewer(message.peer.peerId);
      },
      'peer-left'(message) {
        dropViewer(message.peerId);
      },
      signal(message) {
        links.get(message.from)?.handle(message.data).catch((error) => onStatus('peer-error', error));
      },
      viewers(message) {
        onViewers(message.count);
      },
      ended: dropAll,
    },
  });

  return {
    get viewerLinks() { return links; },
    /** Tell viewers the camera is paused or the microphone muted (or back on). */
    setState(changes) {
      Object.assign(state, changes);
      sendState();
    },
    /** Send TRACK as the sound from now on, to every viewer and to viewers who join later. */
    replaceAudio: (track) => replaceAudio(stream, [...links.values()].map((link) => link.pc), track),
    /** End the broadcast for everyone. */
    end() {
      signalling.close({ end: true });
      dropAll();
    },
    /** Cut the signalling socket as a network failure would: the reconnect logic takes over. */
    dropConnection: () => signalling.dropConnection(),
  };
}
