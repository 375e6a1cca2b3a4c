/** A classroom broadcast through a Janus VideoRoom (--sfu janus): the presenter sends one stream to
 * Janus, which forwards it to every viewer, so the presenter's upload no longer grows with the class.
 *
 * Same parameters, callbacks and returned objects as startBroadcast / watchBroadcast; only the
 * media path differs. Our room socket (signalling.js) still carries presence: the passcode check,
 * the viewer count, `ended`, and one message of ours that Janus does not know about: the presenter
 * tells each viewer which Janus feed to subscribe to ({janus: {feed}}), when the viewer joins and
 * whenever the presenter publishes again. */
import { openSignalling, openViewerSignalling } from './signalling.js';
import { openJanusSession } from './janus_client.js';

const JANUS_PATH = '/janus'; // where webapp/blueprints/janus_proxy.py forwards Janus's HTTP API
const VIDEOROOM = 'janus.plugin.videoroom';
const ROOM_EXISTS = 427; // JANUS_VIDEOROOM_ERROR_ROOM_EXISTS: a presenter publishing again
const RETRY_FIRST_MS = 1000; // after a lost Janus session or a failed link, try again this soon
const RETRY_MAX_MS = 8000; // backoff doubles up to this
const ICE_FAILED_RETRY_MS = 4000; // a link that stays failed this long is built again
// Room ids are URL-safe base64: 8 characters are 48 bits, an integer Janus keeps exactly (< 2^53).
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const ROOM_NUMBER_CHARS = 8;
const BASE64_DIGIT = 64;

/** The Janus room number of one of our rooms: its id's first 48 bits. */
export function janusRoomNumber(roomId) {
  let number = 0;
  for (const char of roomId.slice(0, ROOM_NUMBER_CHARS)) number = number * BASE64_DIGIT + BASE64URL.indexOf(char);
  return number;
}

/** Calls `attempt` until it succeeds or `stop` is called, waiting longer after each failure. */
function retrying(attempt) {
  let delay = RETRY_FIRST_MS;
  let timer = 0;
  let stopped = false;
  return {
    soon() {
      if (stopped) return;
      clearTimeout(timer);
      timer = setTimeout(attempt, delay);
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    },
    succeeded() { delay = RETRY_FIRST_MS; },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Send our ICE candidates to a Janus handle; a closed link stops sending. */
function trickleTo(pc, handle) {
  pc.addEventListener('icecandidate', ({ candidate }) => handle.trickle(candidate?.toJSON() ?? null));
}

/**
 * The presenter's side: publish the composited stream into a Janus room made for this broadcast.
 * @param {{signalUrl: string, room: string, hostToken: string, iceServers: object[], stream: MediaStream,
 *          onViewers: (count: number) => void, onStatus: (status: string, detail?) => void}} options
 */
export function startJanusBroadcast({ signalUrl, room, hostToken, iceServers, stream, onViewers, onStatus,
  janusUrl = JANUS_PATH }) {
  const roomNumber = janusRoomNumber(room);
  const viewers = new Set(); // viewer peer ids in our room
  let publication = null; // {session, handle, pc, feed, closed}
  let ended = false;
  const retry = retrying(publish);

  function announce(peerId) {
    if (publication?.feed) signalling.signal(peerId, { janus: { feed: publication.feed } });
  }

  function unpublish() {
    if (!publication) return;
    publication.closed = true;
    publication.pc?.close();
    publication.session?.destroy();
    publication = null;
  }

  async function publish() {
    unpublish();
    const current = { closed: false, session: null, handle: null, pc: null, feed: null };
    publication = current;
    try {
      const onLost = () => current === publication && retry.soon();
      current.session = await openJanusSession({ url: janusUrl, onLost });
      if (current.closed) return void current.session.destroy();
      current.handle = await current.session.attach(VIDEOROOM);
      // The pin is our full room id: a viewer has it from the link, someone guessing the 48-bit room
      // number does not. The secret (destroy, edit) is the host token only the presenter holds.
      await current.handle.request({
        request: 'create', room: roomNumber, permanent: false, is_private: true, publishers: 1,
        secret: hostToken, pin: room,
      }).catch((error) => { if (error.code !== ROOM_EXISTS) throw error; });
      const joined = await current.handle.request({ request: 'join', ptype: 'publisher', room: roomNumber, pin: room });
      if (current.closed) return;
      const pc = new RTCPeerConnection({ iceServers });
      current.pc = pc;
      for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      trickleTo(pc, current.handle);
      pc.addEventListener('connectionstatechange', () => {
        if (current !== publication) return;
        if (pc.connectionState === 'connected') retry.succeeded();
        if (pc.connectionState === 'failed') retry.soon();
      });
      await pc.setLocalDescription(await pc.createOffer());
      const published = await current.handle.request({ request: 'publish' }, pc.localDescription.toJSON());
      if (current.closed) return;
      await pc.setRemoteDescription(published.jsep);
      current.feed = joined.data.id;
      for (const peerId of viewers) announce(peerId);
    } catch (error) {
      if (current !== publication) return;
      onStatus('peer-error', error);
      retry.soon();
    }
  }

  async function endJanusRoom() {
    retry.stop();
    const ending = publication;
    if (!ending?.handle) return unpublish();
    // Destroying the room first tells Janus's subscribers at once; the session goes after it.
    const destroyed = ending.handle.request({ request: 'destroy', room: roomNumber, secret: hostToken }, null,
      { keepalive: true }).catch(() => {});
    ending.closed = true;
    ending.pc?.close();
    publication = null;
    await destroyed;
    ending.session.destroy({ keepalive: true });
  }

  const signalling = openSignalling({
    url: signalUrl,
    join: { room, role: 'presenter', hostToken },
    onStatus,
    on: {
      joined(message) {
        viewers.clear();
        for (const peer of message.peers) if (peer.role === 'viewer') viewers.add(peer.peerId);
        for (const peerId of viewers) announce(peerId);
      },
      'peer-joined'(message) {
        if (message.peer.role === 'viewer') {
          viewers.add(message.peer.peerId);
          announce(message.peer.peerId);
        }
      },
      'peer-left'(message) {
        viewers.delete(message.peerId);
      },
      viewers(message) {
        onViewers(message.count);
      },
      ended() {
        ended = true;
        endJanusRoom();
      },
    },
  });

  publish();

  return {
    /** The one link that carries the picture out: to Janus. */
    get viewerLinks() {
      return new Map(publication?.pc ? [['janus', { peerId: 'janus', pc: publication.pc }]] : []);
    },
    /** End the broadcast for everyone. */
    end() {
      signalling.close({ end: true });
      if (!ended) endJanusRoom();
      ended = true;
    },
    /** Test hook: drop the signalling socket as a network failure would. */
    dropForTest: () => signalling.dropForTest(),
  };
}

/**
 * A viewer's side: subscribe in Janus to the feed the presenter announces over our room socket.
 * @param {{signalUrl: string, room: string, passcode?: string, iceServers: object[],
 *          onStream: (stream: MediaStream) => void, onStatus: (status: string, detail?) => void}} options
 *   onStatus: connecting | joined | waiting | live | reconnecting | ended | failed | closed
 */
export function watchJanusBroadcast({ signalUrl, room, passcode, iceServers, onStream, onStatus,
  janusUrl = JANUS_PATH }) {
  const roomNumber = janusRoomNumber(room);
  let link = null; // {peerId, pc, feed, session, closed}
  let wanted = null; // {peerId, feed}: the presenter's last announcement
  let failedTimer = 0;
  const retry = retrying(() => wanted && subscribe());

  function closeLink() {
    clearTimeout(failedTimer);
    if (!link) return;
    link.closed = true;
    link.pc?.close();
    link.session?.destroy();
    link = null;
  }

  function onLinkState(current, state) {
    if (current !== link) return;
    if (state === 'connected') {
      clearTimeout(failedTimer);
      retry.succeeded();
      onStatus('live');
    } else if (state === 'failed' || state === 'disconnected') {
      onStatus('reconnecting');
      clearTimeout(failedTimer);
      failedTimer = setTimeout(subscribe, ICE_FAILED_RETRY_MS);
    }
  }

  async function subscribe() {
    closeLink();
    if (!wanted) return;
    const current = { peerId: wanted.peerId, feed: wanted.feed, closed: false, session: null, pc: null };
    link = current;
    try {
      const onLost = () => current === link && retry.soon();
      current.session = await openJanusSession({ url: janusUrl, onLost });
      if (current.closed) return void current.session.destroy();
      const handle = await current.session.attach(VIDEOROOM);
      const offered = await handle.request({
        request: 'join', ptype: 'subscriber', room: roomNumber, pin: room, streams: [{ feed: current.feed }],
      });
      if (current.closed) return;
      const pc = new RTCPeerConnection({ iceServers });
      current.pc = pc;
      // Janus may put audio and video in streams of their own: the page gets one stream with both.
      const received = new MediaStream();
      pc.addEventListener('track', ({ track }) => {
        received.addTrack(track);
        onStream(received);
      });
      pc.addEventListener('connectionstatechange', () => onLinkState(current, pc.connectionState));
      trickleTo(pc, handle);
      await pc.setRemoteDescription(offered.jsep);
      await pc.setLocalDescription(await pc.createAnswer());
      await handle.request({ request: 'start' }, pc.localDescription.toJSON());
    } catch (error) {
      if (current !== link) return;
      onStatus('peer-error', error);
      retry.soon();
    }
  }

  const signalling = openViewerSignalling({
    url: signalUrl,
    room,
    passcode,
    onStatus,
    onReconnecting: closeLink,
    on: {
      'peer-joined'() {
        // The presenter (re)joined: its announcement follows.
        wanted = null;
        closeLink();
      },
      'peer-left'() {
        wanted = null;
        closeLink();
        onStatus('waiting');
      },
      signal(message) {
        const feed = message.data?.janus?.feed;
        if (!Number.isSafeInteger(feed)) return;
        const same = link && !link.closed && link.feed === feed && link.pc?.connectionState !== 'failed';
        wanted = { peerId: message.from, feed };
        if (!same) subscribe();
      },
      ended() {
        retry.stop();
        wanted = null;
        closeLink();
      },
    },
  });

  return {
    get link() { return link; },
    leave() {
      retry.stop();
      closeLink();
      signalling.close();
    },
    dropForTest: () => signalling.dropForTest(),
  };
}
