/** Whether this browser can send or receive live video at all, and what to tell someone whose cannot.
 *
 * Sharing, watching and meetings all ride on WebRTC (RTCPeerConnection). Some browsers come without it
 * (builds made without it, such as some Linux WebKitGTK packages) or have it switched off (Firefox's
 * media.peerconnection.enabled, privacy add-ons, managed policies): each page checks once, before it
 * opens a room, so the user reads why instead of waiting on a connection that can never start. */
import { UserError } from '../user_error.js';

const TURNED_OFF = 'WebRTC, which live video needs, is missing or turned off in this browser '
  + '(in Firefox: media.peerconnection.enabled in about:config; privacy add-ons and company policies can block it too).';
// What each kind of page says: [headline, what to do].
const TEXT = Object.freeze({
  watch: ['This browser cannot play the live picture.', `${TURNED_OFF} Turn it on, or open this link in an up-to-date Chrome, Edge, Firefox or Safari.`],
  share: ['This browser cannot share live video.', `${TURNED_OFF} Your picture still works here (recording, the output window); to share it, turn WebRTC on or use an up-to-date Chrome, Edge, Firefox or Safari.`],
  meet: ['This browser cannot join meetings.', `${TURNED_OFF} Turn it on, or open this link in an up-to-date Chrome, Edge, Firefox or Safari.`],
});

/** True when RTCPeerConnection exists (it is what every link here is made of). */
export function hasWebRTC(scope = globalThis) {
  return typeof scope.RTCPeerConnection === 'function';
}

/** The UserError for PURPOSE ('watch', 'share' or 'meet') when WebRTC is missing, else null. */
export function webrtcProblem(purpose, scope = globalThis) {
  if (hasWebRTC(scope)) return null;
  const text = TEXT[purpose];
  if (!text) throw new Error(`webrtcProblem: unknown purpose ${purpose}`);
  return new UserError(...text);
}
