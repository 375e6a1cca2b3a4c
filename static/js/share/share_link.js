/** Links to a room: the address to hand out, with the passcode in the fragment if the presenter
 * wants one-click access (a fragment never reaches the server or its logs). */

const PASSCODE_KEY = 'passcode';
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Absolute URL of a room path, optionally carrying the passcode. */
export function roomLink(path, passcode = '', origin = location.origin) {
  const url = new URL(path, origin);
  if (passcode) url.hash = new URLSearchParams({ [PASSCODE_KEY]: passcode }).toString();
  return url.toString();
}

/** The passcode carried in a link's fragment, or ''. */
export function passcodeFromHash(hash) {
  return new URLSearchParams(hash.replace(/^#/, '')).get(PASSCODE_KEY) ?? '';
}

/** True when a link on this origin only works on this very machine. */
export function isLoopbackOrigin(loc = location) {
  return LOOPBACK_HOSTS.has(loc.hostname);
}
