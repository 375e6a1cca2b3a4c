/** A classroom broadcast through a Janus VideoRoom (--sfu janus): the presenter sends one stream to
 * Janus, which forwards it to every viewer, so the presenter's upload no longer grows with the class.
 *
 * Same parameters, callbacks and returned objects as startBroadcast / watchBroadcast; only the
 * media path differs. Our room socket (signalling.js) still carries presence: the passcode check,
 * the viewer count, `ended`, and two things Janus does not know about: each join of Janus's room
 * needs a one-use credential the socket hands out ({type: 'janus-token'}: the server makes the room,
 * and only the presenter's credential publishes; webapp/janus_rooms.py), and the presenter tells each
 * viewer which Janus feed to subscribe to ({janus: {feed}}), when the viewer joins and whenever the
 * presenter publishes again. The page never learns the Janus room's pin, and the server, not the
 * page, destroys the room when the broadcast ends. */
import { openSignalling, openViewerSignalling } from './signalling.js';
import { openJanusSession, JanusError } from './janus_client.js';
import { PRESENTER_DEFAULT_STATE } from './broadcast_viewer.js';
import { replaceAudio } from './microphone.js';
import { countFailedLinks } from './failed_links.js';

const JANUS_PATH = '/janus'; // where webapp/blueprints/janus_proxy.py forwards Janus's HTTP API
const VIDEOROOM = 'janus.plugin.videoroom';
const RETRY_FIRST_MS = 1000; // after a lost Janus session or a failed link, try again this soon
const RETRY_MAX_MS = 8000; // backoff doubles up to this
const ICE_FAILED_RETRY_MS = 4000; // a link that stays failed this long is built again
const CREDENTIAL_TIMEOUT_MS = 10000; // the room socket answers at once; a lost answer is asked again
// The room socket's refusals of a credential request (webapp/rooms/protocol.py): the join waits and retries.
const CREDENTIAL_REFUSALS = new Set(['not-live', 'janus-unavailable', 'not-allowed']);
// Statuses of the room socket (signalling.js) after which it is no longer joined.
const SOCKET_GONE = new Set(['connecting', 'reconnecting', 'closed', 'failed', 'ended']);

/**
 * Credentials for Janus joins, asked for on our room socket and answered in order.
 * @param {(status: string, detail?) => void} onStatus  the page's; refusals of ours go to the asker instead.
 */
function janusCredentials(onStatus) {
  const waiting = []; // {resolve, reject, timer}, oldest first
  let joined = false; // the socket is in the room: a request before the join would be fatal to it

  function next() {
    const entry = waiting.shift();
    if (entry) clearTimeout(entry.timer);
    return entry;
  }

  return {
    /** Resolves to a token for one join (the socket's role decides: publisher or subscriber). */
    ask(signalling) {
      return new Promise((resolve, reject) => {
        if (!joined || !signalling.send({ type: 'janus-token' })) {
          reject(new JanusError(0, 'not in the room yet'));
          return;
        }
        const entry = { resolve, reject, timer: 0 };
        entry.timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(entry), 1);
          reject(new JanusError(0, `no credential within ${CREDENTIAL_TIMEOUT_MS} ms`));
        }, CREDENTIAL_TIMEOUT_MS);
        waiting.push(entry);
      });
    },
    /** The handler of the socket's janus-token answers. */
    answered(message) { next()?.resolve(message.token); },
    /** The socket's onStatus, with the refusals of credential requests taken out. */
    onStatus(status, detail) {
      if (status === 'error' && CREDENTIAL_REFUSALS.has(detail?.code)) {
        next()?.reject(new JanusError(detail.code, detail.message));
        return;
      }
      if (status === 'joined') joined = true;
      if (SOCKET_GONE.has(status)) {
        joined = false;
        while (waiting.length) next().reject(new JanusError(0, 'the room socket closed'));
      }
      onStatus(status, detail);
    },
  };
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
  const viewers = new Set(); // viewer peer ids in our room
  const state = { muted: false, cameraOff: false }; // what viewers are told, as in startBroadcast
  const credentials = janusCredentials(onStatus);
  let publication = null; // {session, handle, pc, feed, room, closed}
  let ended = false;
  const retry = retrying(publish);

  function announce(peerId) {
    if (publication?.feed) signalling.signal(peerId, { janus: { feed: publication.feed } });
  }

  function unpublish({ keepalive = false } = {}) {
    if (!publication) return;
    publication.closed = true;
    publication.pc?.close();
    publication.session?.destroy({ keepalive });
    publication = null;
  }

  async function publish() {
    unpublish();
    const current = { closed: false, session: null, handle: null, pc: null, feed: null, room: null };
    publication = current;
    try {
      const onLost = () => current === publication && retry.soon();
      current.session = await openJanusSession({ url: janusUrl, onLost });
      if (current.closed) return void current.session.destroy();
      current.handle = await current.session.attach(VIDEOROOM);
      // The server makes the room on our first credential and frees its one publisher slot on every
      // one: a stale publication of ours (before a reload) is kicked out.
      const token = await credentials.ask(signalling);
      if (current.closed) return;
      const joined = await current.handle.request({ request: 'join', ptype: 'publisher', token });
      if (current.closed) return;
      current.room = joined.data.room;
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

  function stopPublishing() {
    // The server destroys the Janus room as the broadcast ends; the session goes now.
    retry.stop();
    unpublish({ keepalive: true });
  }

  const signalling = openSignalling({
    url: signalUrl,
    join: { room, role: 'presenter', hostToken },
    onStatus: credentials.onStatus,
    on: {
      joined(message) {
        if (state.muted || state.cameraOff) signalling.send({ type: 'state', ...state });
        viewers.clear();
        for (const peer of message.peers) if (peer.role === 'viewer') viewers.add(peer.peerId);
        for (const peerId of viewers) announce(peerId);
        if (!publication) publish(); // first join: a credential needs the room socket joined
      },
      'janus-token': credentials.answered,
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
        stopPublishing();
      },
    },
  });

  return {
    /** The one link that carries the picture out: to Janus. */
    get viewerLinks() {
      return new Map(publication?.pc ? [['janus', { peerId: 'janus', pc: publication.pc }]] : []);
    },
    /** The Janus room number, once published (tests ask Janus about it). */
    get janusRoom() { return publication?.room ?? null; },
    /** Tell viewers the camera is paused or the microphone muted (or back on). */
    setState(changes) {
      Object.assign(state, changes);
      signalling.send({ type: 'state', ...state });
    },
    /** Send TRACK as the sound from now on (a publication made again takes it from the stream too). */
    replaceAudio: (track) => replaceAudio(stream, publication?.pc ? [publication.pc] : [], track),
    /** End the broadcast for everyone. */
    end() {
      signalling.close({ end: true });
      if (!ended) stopPublishing();
      ended = true;
    },
    /** Cut the signalling socket as a network failure would: the reconnect logic takes over. */
    dropConnection: () => signalling.dropConnection(),
  };
}

/**
 * A viewer's side: subscribe in Janus to the feed the presenter announces over our room socket.
 * @param {{signalUrl: string, room: string, passcode?: string, iceServers: object[],
 *          onStream: (stream: MediaStream) => void, onStatus: (status: string, detail?) => void,
 *          onPresenterState?: (state: {muted: boolean, cameraOff: boolean}) => void}} options
 *   onStatus: connecting | joined | waiting | live | reconnecting | ended | failed | closed; a failed
 *     link's 'reconnecting' comes with {failedLinks, blocked} (failed_links.js)
 */
export function watchJanusBroadcast({ signalUrl, room, passcode, iceServers, onStream, onStatus,
  onPresenterState = () => {}, janusUrl = JANUS_PATH }) {
  const credentials = janusCredentials(onStatus);
  let link = null; // {peerId, pc, feed, session, closed}
  let wanted = null; // {peerId, feed}: the presenter's last announcement
  let failedTimer = 0;
  const failures = countFailedLinks();
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
      failures.connected();
      onStatus('live');
    } else if (state === 'failed' || state === 'disconnected') {
      onStatus('reconnecting', state === 'failed' ? failures.failed() : undefined);
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
      const token = await credentials.ask(signalling);
      if (current.closed) return;
      const offered = await handle.request({
        request: 'join', ptype: 'subscriber', token, streams: [{ feed: current.feed }],
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
    onStatus: credentials.onStatus,
    onReconnecting: closeLink,
    on: {
      'janus-token': credentials.answered,
      'peer-joined'() {
        // The presenter (re)joined: its announcement follows, and its state if it is not the default.
        wanted = null;
        closeLink();
        onPresenterState(PRESENTER_DEFAULT_STATE);
      },
      'peer-left'() {
        wanted = null;
        closeLink();
        onPresenterState(PRESENTER_DEFAULT_STATE);
        onStatus('waiting');
      },
      'peer-state'(message) {
        onPresenterState({ muted: message.muted, cameraOff: message.cameraOff });
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
    dropConnection: () => signalling.dropConnection(),
  };
}
