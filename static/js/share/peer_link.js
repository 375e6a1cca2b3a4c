/** One WebRTC connection to one remote peer, negotiated through the signalling channel.
 *
 * Roles are fixed, so offers never collide: the presenter offers to each viewer, and in a meeting
 * the newcomer offers to everyone already there. ICE candidates that arrive before the remote
 * description are held until it is set. */

/**
 * @param {{peerId: string, iceServers: object[], signalling, initiator: boolean,
 *          send: MediaStream|null, receive: boolean,
 *          onTrack?: (stream: MediaStream) => void, onState?: (state: string) => void}} options
 *   send: the stream whose tracks go to the peer (the composited picture, never the raw camera);
 *   receive: whether we expect media back.
 */
export function createPeerLink({ peerId, iceServers, signalling, initiator, send, receive, onTrack, onState }) {
  const pc = new RTCPeerConnection({ iceServers });
  const pendingCandidates = [];
  const senders = new Map(); // track kind -> RTCRtpSender, kept when the track is replaced
  let closed = false;

  for (const track of send?.getTracks() ?? []) {
    // addTrack, not addTransceiver: on the answering side only transceivers made by addTrack are
    // matched to the offer's m-lines (JSEP 5.10); others would stay unused and send nothing.
    const sender = pc.addTrack(track, send);
    if (!receive) pc.getTransceivers().find((each) => each.sender === sender).direction = 'sendonly';
    senders.set(track.kind, sender);
  }
  if (receive && !send && initiator) {
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
  }

  pc.addEventListener('icecandidate', ({ candidate }) => {
    if (candidate) signalling.signal(peerId, { candidate: candidate.toJSON() });
  });
  pc.addEventListener('track', ({ streams, track }) => {
    onTrack?.(streams[0] ?? new MediaStream([track]));
  });
  pc.addEventListener('connectionstatechange', () => onState?.(pc.connectionState));

  async function flushCandidates() {
    while (pendingCandidates.length) await pc.addIceCandidate(pendingCandidates.shift());
  }

  async function offer() {
    await pc.setLocalDescription(await pc.createOffer());
    signalling.signal(peerId, { sdp: pc.localDescription.toJSON() });
  }

  const link = {
    peerId,
    pc,
    /** Act on a signal from this peer: an offer, an answer or an ICE candidate. */
    async handle(data) {
      if (closed) return;
      if (data.sdp) {
        await pc.setRemoteDescription(data.sdp);
        if (data.sdp.type === 'offer') {
          await pc.setLocalDescription(await pc.createAnswer());
          signalling.signal(peerId, { sdp: pc.localDescription.toJSON() });
        }
        await flushCandidates();
      } else if (data.candidate) {
        if (pc.remoteDescription) await pc.addIceCandidate(data.candidate);
        else pendingCandidates.push(data.candidate);
      }
    },
    /** Send another track instead (null sends nothing: camera off) without renegotiating. */
    async replaceTrack(kind, track) {
      await senders.get(kind)?.replaceTrack(track);
    },
    close() {
      closed = true;
      pc.close();
    },
  };
  if (initiator) offer().catch((error) => onState?.('failed', error));
  return link;
}
