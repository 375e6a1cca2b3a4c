/** Creating rooms on this server (POST /api/rooms). */
import { UserError } from '../user_error.js';

/** Create a room; resolves to {room, kind, url, hostToken}. */
export async function createRoom(kind, passcode = '') {
  let response;
  try {
    response = await fetch('/api/rooms', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(passcode ? { kind, passcode } : { kind }),
    });
  } catch (error) {
    throw new UserError('The server cannot be reached.', 'Check that it is still running, then try again.', error);
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new UserError('Sharing could not start.', body.message ?? `The server answered ${response.status}.`);
  }
  return body;
}
