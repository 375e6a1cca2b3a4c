/** The signalling channel: one WebSocket to this server's /ws, joined to one room.
 *
 * It reconnects by itself after a network drop (with backoff) and joins again, so a viewer who
 * lost the network gets the stream back without anyone pressing anything. Messages follow the
 * protocol documented in webapp/rooms/protocol.py. */

const RECONNECT_FIRST_MS = 500; // first retry after a drop
const RECONNECT_MAX_MS = 8000; // backoff doubles up to this
const KEEPALIVE_MS = 20000; // a ping now and then keeps proxies from closing an idle socket
const SERVER_CLOSE_WAIT_MS = 2000; // after leave/end, how long the server gets to close the socket itself
// Errors after which joining again cannot help: the page tells the user and stops.
const FATAL_CODES = new Set(['unknown-room', 'wrong-passcode', 'too-many-attempts', 'wrong-role', 'room-full', 'bad-token']);

/** ws:// or wss:// URL of a same-origin path (the page's own scheme decides). */
export function socketUrl(path, loc = location) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}${path}`;
}

/**
 * @param {{url: string, join: object, on: object, onStatus: (status, detail?) => void}} options
 *   join: the join message's fields (room, role, passcode, hostToken, name).
 *   on: a handler per server message type ({joined(message) {...}, signal(message) {...}, ...});
 *     types without one are ignored.
 *   onStatus: 'connecting' | 'joined' | 'reconnecting' | 'closed' | 'failed' (detail: the error
 *     message) | 'ended' (detail: the reason; after on.ended) | 'error' (a refused message, detail:
 *     the error message; the room goes on).
 */
export function openSignalling({ url, join, on, onStatus }) {
  let socket = null;
  let closedByUs = false;
  let finished = false; // the server ended the room or refused us: its word is the last status
  let retryMs = RECONNECT_FIRST_MS;
  let retryTimer = 0;
  let keepaliveTimer = 0;
  let peerId = null;

  function connect() {
    onStatus(peerId ? 'reconnecting' : 'connecting');
    socket = new WebSocket(url);
    socket.addEventListener('open', () => {
      socket.send(JSON.stringify({ type: 'join', ...join }));
    });
    socket.addEventListener('message', (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return; // the server only sends JSON; anything else is not ours to act on
      }
      if (message.type === 'joined') {
        peerId = message.peerId;
        retryMs = RECONNECT_FIRST_MS;
        onStatus('joined');
      } else if (message.type === 'error') {
        const fatal = FATAL_CODES.has(message.code);
        closedByUs ||= fatal;
        finished ||= fatal;
        onStatus(fatal ? 'failed' : 'error', message);
        return;
      } else if (message.type === 'ended') {
        closedByUs = true;
        finished = true;
      }
      if (Object.hasOwn(on, message.type)) on[message.type](message);
      if (message.type === 'ended') onStatus('ended', message.reason);
    });
    socket.addEventListener('close', () => {
      clearInterval(keepaliveTimer);
      if (closedByUs) {
        if (!finished) onStatus('closed');
        return;
      }
      onStatus('reconnecting');
      retryTimer = setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, RECONNECT_MAX_MS);
    });
    clearInterval(keepaliveTimer);
    keepaliveTimer = setInterval(() => send({ type: 'ping' }), KEEPALIVE_MS);
  }

  function send(message) {
    if (socket?.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  connect();
  return {
    get peerId() { return peerId; },
    send,
    /** Relay `data` (an SDP or an ICE candidate) to one peer. */
    signal(to, data) { return send({ type: 'signal', to, data }); },
    /** Leave the room (or, with `end`, end it for everyone: presenter only) and stop reconnecting. */
    close({ end = false } = {}) {
      closedByUs = true;
      clearTimeout(retryTimer);
      clearInterval(keepaliveTimer);
      // The server answers leave/end (the presenter hears `ended`) and then closes the socket itself;
      // closing it here at once would race that answer (Chromium: "Data frame received after close").
      if (send({ type: end ? 'end' : 'leave' })) {
        const closing = socket;
        setTimeout(() => closing.close(), SERVER_CLOSE_WAIT_MS);
      } else {
        socket?.close();
      }
    },
    /** Close the socket as a network failure would: the reconnect logic takes over (a viewer whose
     * media link failed rejoins this way; tests use it to cut the connection). */
    dropConnection() { socket?.close(); },
  };
}

/**
 * A viewer's channel to a broadcast room, the same for peer-to-peer and Janus viewers: joins as a
 * viewer (with the passcode, if any), reports 'waiting' when the room has no presenter yet, and calls
 * `onReconnecting` (drop the media link) before passing 'reconnecting' on.
 * @param {{url: string, room: string, passcode?: string, on: object,
 *          onStatus: (status, detail?) => void, onReconnecting: () => void}} options
 */
export function openViewerSignalling({ url, room, passcode, on, onStatus, onReconnecting }) {
  return openSignalling({
    url,
    join: { room, role: 'viewer', ...(passcode ? { passcode } : {}) },
    onStatus: (status, detail) => {
      if (status === 'reconnecting') onReconnecting();
      onStatus(status, detail);
    },
    on: {
      // A presenter who is here offers (or announces its feed) next; without one, we wait for it.
      joined(message) {
        if (!message.peers.some((peer) => peer.role === 'presenter')) onStatus('waiting');
      },
      ...on,
    },
  });
}
