/** A viewer's side of a classroom broadcast: receive the presenter's composited stream.
 *
 * The viewer never sends media. If the presenter reloads or the network drops, the signalling
 * channel joins again and the presenter offers a fresh connection; nothing for the viewer to do. */
import { openViewerSignalling } from './signalling.js';
import { createPeerLink } from './peer_link.js';
import { countFailedLinks } from './failed_links.js';

const ICE_FAILED_REJOIN_MS = 4000; // a link that stays failed this long is rebuilt by re-joining
// How a presenter who just (re)joined is until it says otherwise: camera on, microphone on.
export const PRESENTER_DEFAULT_STATE = Object.freeze({ muted: false, cameraOff: false });

/**
 * @param {{signalUrl: string, room: string, passcode?: string, iceServers: object[],
 *          onStream: (stream: MediaStream) => void, onStatus: (status: string, detail?) => void,
 *          onPresenterState?: (state: {muted: boolean, cameraOff: boolean}) => void}} options
 *   onStatus: connecting | joined | waiting | live | reconnecting | ended | failed | closed; a failed
 *     link's 'reconnecting' comes with {failedLinks, blocked} (failed_links.js); 'peer-error' (with the
 *     error) is one signal of the presenter's this browser could not use, not a state: the link goes on
 *   onPresenterState: the presenter paused its camera or muted its microphone, or undid it
 */
export function watchBroadcast({ signalUrl, room, passcode, iceServers, onStream, onStatus, onPresenterState = () => {} }) {
  let link = null;
  let failedTimer = 0;
  const failures = countFailedLinks();

  function closeLink() {
    clearTimeout(failedTimer);
    link?.close();
    link = null;
  }

  function onLinkState(state) {
    if (state === 'connected') {
      clearTimeout(failedTimer);
      failures.connected();
      onStatus('live');
    } else if (state === 'failed' || state === 'disconnected') {
      // A disconnect may mend by itself; only a failed link counts against the network.
      onStatus('reconnecting', state === 'failed' ? failures.failed() : undefined);
      clearTimeout(failedTimer);
      failedTimer = setTimeout(() => signalling.dropConnection(), ICE_FAILED_REJOIN_MS);
    }
  }

  const signalling = openViewerSignalling({
    url: signalUrl,
    room,
    passcode,
    onStatus,
    onReconnecting: closeLink,
    on: {
      // The presenter (re)joined: its offer follows, and its state if it is not the default.
      'peer-joined'() {
        closeLink();
        onPresenterState(PRESENTER_DEFAULT_STATE);
      },
      'peer-left'() {
        closeLink();
        onPresenterState(PRESENTER_DEFAULT_STATE);
        onStatus('waiting');
      },
      'peer-state'(message) {
        onPresenterState({ muted: message.muted, cameraOff: message.cameraOff });
      },
      signal(message) {
        if (!link || link.peerId !== message.from) {
          closeLink();
          link = createPeerLink({
            peerId: message.from, iceServers, signalling, initiator: false, send: null, receive: true,
            onTrack: onStream, onState: onLinkState,
          });
        }
        link.handle(message.data).catch((error) => onStatus('peer-error', error));
      },
      ended: closeLink,
    },
  });

  return {
    get link() { return link; },
    leave() {
      closeLink();
      signalling.close();
    },
    /** Cut the signalling socket as a network failure would: the reconnect logic takes over. */
    dropConnection: () => signalling.dropConnection(),
  };
}
