/** A minimal client of Janus's HTTP API (https://janus.conf.meetecho.com/docs/rest.html), spoken
 * through this server's /janus proxy (webapp/blueprints/janus_proxy.py): one session, its plugin
 * handles, requests with an optional JSEP, trickled candidates, and the long poll that brings
 * Janus's events back. */

const KEEPALIVE_MS = 25000; // Janus drops a session after session_timeout (60 s) without a request
const POLL_RETRY_MS = 1000; // after a failed long poll (a network blip, Janus restarting)
const POLL_FAILURES_LOST = 3; // failed polls in a row after which the session counts as lost
const EVENT_TIMEOUT_MS = 20000; // an asynchronous request whose event never comes
const NO_SUCH_SESSION = 458; // Janus's JANUS_ERROR_SESSION_NOT_FOUND: it timed out or Janus restarted

/** A refusal from Janus, its VideoRoom plugin or our proxy: a numeric code and Janus's reason. */
export class JanusError extends Error {
  constructor(code, reason) {
    super(`Janus ${code}: ${reason}`);
    this.code = code;
    this.reason = reason;
  }
}

async function call(url, { body, signal, keepalive = false } = {}) {
  const response = await fetch(url, {
    method: body ? 'POST' : 'GET',
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    cache: 'no-store',
    signal,
    keepalive, // a request sent as the page goes away (pagehide) still leaves
  });
  let answer;
  try {
    answer = await response.json();
  } catch {
    throw new JanusError(response.status, 'the answer is not JSON');
  }
  if (answer.janus === 'error') throw new JanusError(answer.error?.code, answer.error?.reason);
  if (!response.ok) throw new JanusError(response.status, answer.message ?? response.statusText);
  return answer;
}

/** A VideoRoom (or other plugin) refusal inside a successful Janus answer. */
function pluginResult(answer) {
  const data = answer.plugindata?.data ?? {};
  if (data.error_code) throw new JanusError(data.error_code, data.error);
  return { data, jsep: answer.jsep ?? null };
}

/**
 * Create a Janus session and start its long poll.
 * @param {{url: string, onLost: (error) => void}} options  url: the API's base path (/janus);
 *   onLost: the session is gone (timed out, Janus restarted or unreachable): open another.
 */
export async function openJanusSession({ url, onLost }) {
  const created = await call(url, { body: { janus: 'create', transaction: 'create' } });
  const sessionUrl = `${url}/${created.data.id}`;
  const handles = new Map(); // handle id -> onEvent
  const pending = new Map(); // transaction -> {resolve, reject, timer}: asynchronous plugin requests
  const poller = new AbortController();
  let transactions = 0;
  let closed = false;

  const transaction = () => `${created.data.id}-${(transactions += 1)}`;

  function settle(id, outcome) {
    const waiting = pending.get(id);
    if (!waiting) return false;
    pending.delete(id);
    clearTimeout(waiting.timer);
    try {
      waiting.resolve(outcome());
    } catch (error) {
      waiting.reject(error);
    }
    return true;
  }

  function dispatch(event) {
    if (event.janus === 'keepalive') return;
    if (event.janus === 'event' && event.transaction && settle(event.transaction, () => pluginResult(event))) return;
    handles.get(event.sender)?.(event);
  }

  function lose(error) {
    if (closed) return;
    close();
    onLost(error);
  }

  async function poll() {
    let failures = 0;
    while (!closed) {
      try {
        const events = await call(sessionUrl, { signal: poller.signal });
        failures = 0;
        for (const event of [].concat(events)) dispatch(event);
      } catch (error) {
        if (closed) return;
        failures += 1;
        if (error.code === NO_SUCH_SESSION || failures >= POLL_FAILURES_LOST) {
          lose(error);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_RETRY_MS));
      }
    }
  }

  const keepaliveTimer = setInterval(() => {
    call(sessionUrl, { body: { janus: 'keepalive', transaction: transaction() } }).catch(lose);
  }, KEEPALIVE_MS);

  function close() {
    closed = true;
    clearInterval(keepaliveTimer);
    poller.abort();
    for (const [id, waiting] of pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new JanusError(NO_SUCH_SESSION, 'the session was closed'));
      pending.delete(id);
    }
  }

  poll();

  return {
    id: created.data.id,
    /** Attach a plugin: a handle whose own events (webrtcup, hangup, plugin events) go to onEvent. */
    async attach(plugin, onEvent = () => {}) {
      const attached = await call(sessionUrl, { body: { janus: 'attach', plugin, transaction: transaction() } });
      const handleUrl = `${sessionUrl}/${attached.data.id}`;
      handles.set(attached.data.id, onEvent);
      return {
        id: attached.data.id,
        /** A plugin request (with an SDP to hand over, if any): resolves to {data, jsep}, whether
         * the plugin answers at once or later in an event. */
        request(body, jsep = null, { keepalive = false } = {}) {
          const id = transaction();
          const answered = new Promise((resolve, reject) => {
            const timer = setTimeout(() => settle(id, () => {
              throw new JanusError(0, `no answer to ${body.request} within ${EVENT_TIMEOUT_MS} ms`);
            }), EVENT_TIMEOUT_MS);
            pending.set(id, { resolve, reject, timer });
          });
          const message = { janus: 'message', transaction: id, body, ...(jsep ? { jsep } : {}) };
          call(handleUrl, { body: message, keepalive }).then(
            (answer) => { if (answer.janus === 'success') settle(id, () => pluginResult(answer)); },
            (error) => settle(id, () => { throw error; }),
          );
          return answered;
        },
        /** Hand Janus one of our ICE candidates (null: gathering is complete). */
        trickle(candidate) {
          const body = { janus: 'trickle', transaction: transaction(), candidate: candidate ?? { completed: true } };
          return call(handleUrl, { body }).catch(() => {}); // a lost candidate shows as an ICE failure
        },
      };
    },
    /** Destroy the session (its handles and their PeerConnections in Janus go with it). */
    destroy({ keepalive = false } = {}) {
      if (closed) return Promise.resolve();
      close();
      return call(sessionUrl, { body: { janus: 'destroy', transaction: transaction() }, keepalive }).catch(() => {});
    },
  };
}
