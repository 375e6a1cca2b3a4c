/** A viewer's links that failed in a row: after a few, the network is what keeps the picture out.
 *
 * A link that reaches "failed" found no path between the two browsers (ICE): a firewall that drops
 * UDP, two NATs with no relay between them. Trying again is right, since networks change, but a viewer
 * told "the picture comes back by itself" forever is misled: after FAILED_LINKS_BEFORE_ADVICE failures
 * with no connection between them, the status says the network blocks it. */

export const FAILED_LINKS_BEFORE_ADVICE = 3;

export function countFailedLinks() {
  let failures = 0;
  return {
    /** A link connected: the network lets the picture through. */
    connected() {
      failures = 0;
    },
    /** A link failed: the detail of the 'reconnecting' status, {failedLinks, blocked}. */
    failed() {
      failures += 1;
      return { failedLinks: failures, blocked: failures >= FAILED_LINKS_BEFORE_ADVICE };
    },
  };
}
