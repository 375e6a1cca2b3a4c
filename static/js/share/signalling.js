/** The signalling channel: one WebSocket to this server's /ws, joined to one room.
 *
 * It reconnects by itself after a network drop (with backoff) and joins again, so a viewer who
 * lost the network gets the stream back without anyone pressing anything. Messages follow the
 * protocol documented in webapp/rooms/protocol.py. */

const RECONNECT_FIRST_MS = 500; // first retry after a drop
const RECONNECT_MAX_MS = 8000; // backoff doubles up to this
const KEEPALIVE_MS = 20000; // a ping now and then keeps proxies from closing an idle socket
// Errors after which joining again cannot help: the page tells the user and stops.
const FATAL_CODES = new Set(['unknown-room', 'wrong-passcode', 'wrong-role', 'room-full', 'bad-token']);

/** ws:// or wss:// URL of a same-origin path (the page's own scheme decides). */
export function socketUrl(path, loc = location) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}${path}`;
}

/**
 * @param {{url: string, join: object, onMessage: (message) => void, onStatus: (status, detail?) => void}} options
 *   join: the join message's fields (room, role, passcode, hostToken, name).
 *   onStatus: 'connecting' | 'joined' | 'reconnecting' | 'closed' | 'failed' (detail: the error message).
 */
export function openSignalling({ url, join, onMessage, onStatus }) {
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
      } else if (message.type === 'error' && FATAL_CODES.has(message.code)) {
        closedByUs = true;
        finished = true;
        onStatus('failed', message);
      } else if (message.type === 'ended') {
        closedByUs = true;
        finished = true;
      }
      onMessage(message);
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
      send({ type: end ? 'end' : 'leave' });
      socket?.close();
    },
    /** Test hook: drop the socket as a network failure would (it reconnects). */
    dropForTest() { socket?.close(); },
  };
}
