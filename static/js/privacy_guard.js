/** Privacy fails closed: the person is shown only while a trustworthy mask exists.
 *
 * Before the first mask, and once segmentation has failed for longer than a short hold, the
 * compositor shows the whole frame as (blurred) background, never the raw camera. */

// After a failure the last good mask may stand in for this long (a hiccup must not flash the
// screen to blur); past it the picture goes fully blurred until a new mask arrives.
export const MASK_HOLD_AFTER_FAILURE_MS = 300;

export function createPrivacyGuard() {
  const guard = {
    hasMask: false,
    failedAt: null,
    lastError: null,
    /** A fresh mask arrived: the person may be shown. */
    maskArrived() {
      guard.hasMask = true;
      guard.failedAt = null;
      guard.lastError = null;
    },
    /** Segmentation failed (threw, timed out, lost its worker or device). */
    failed(now, error) {
      if (guard.failedAt === null) guard.failedAt = now;
      guard.lastError = error;
    },
    /** Forget the mask (camera restarted): blurred until the next one. */
    reset() {
      guard.hasMask = false;
      guard.failedAt = null;
    },
    /** Whether the compositor may show the person at time `now` (ms). */
    personVisible(now) {
      if (!guard.hasMask) return false;
      return guard.failedAt === null || now - guard.failedAt < MASK_HOLD_AFTER_FAILURE_MS;
    },
  };
  return guard;
}
