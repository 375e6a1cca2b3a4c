/** Privacy fails closed: the person is shown only while a trustworthy mask exists.
 *
 * Before the first mask, while there is no segmenter (it died, its device was lost, the backend is
 * being switched), once segmentation has failed for longer than a short hold, and whenever the
 * newest mask describes a frame older than MAX_MASK_AGE_MS, whatever the reason, the compositor
 * shows the whole frame as (blurred) background, never the raw camera. */

// After a failed run the last good mask may stand in for this long (a hiccup must not flash the
// screen to blur); the frames drawn meanwhile distrust every pixel that changed since the mask's
// frame (session.js), and past it the picture goes fully blurred until a new mask arrives.
export const MASK_HOLD_AFTER_FAILURE_MS = 300;
// The oldest frame a mask may describe and still be used. The motion gate re-runs the model at
// least every GATE_DEFAULTS.maxMaskAgeMs (500 ms) even on a still person, so a healthy segmenter
// stays well inside this; a segmenter that stopped answering without a word does not.
export const MAX_MASK_AGE_MS = 1000;

export function createPrivacyGuard() {
  const guard = {
    hasMask: false,
    maskFrameAt: 0, // performance.now() of the camera frame the newest mask describes, ms
    failedAt: null,
    lastError: null,
    /** A fresh mask arrived, computed from a frame taken in at `frameAt` (ms): the person may be shown. */
    maskArrived(frameAt) {
      guard.hasMask = true;
      guard.maskFrameAt = frameAt;
      guard.failedAt = null;
      guard.lastError = null;
    },
    /** A segmentation run failed (threw, timed out). */
    failed(now, error) {
      if (guard.failedAt === null) guard.failedAt = now;
      guard.lastError = error;
    },
    /** The segmenter is gone (died, device lost, backend switch): blurred from now until the next mask. */
    lost(now, error) {
      guard.hasMask = false;
      if (error) guard.failed(now, error);
    },
    /** Forget the mask (camera restarted): blurred until the next one. */
    reset() {
      guard.hasMask = false;
      guard.failedAt = null;
    },
    /** Milliseconds between `now` and the frame the newest mask describes (Infinity without one). */
    maskAge(now) {
      return guard.hasMask ? now - guard.maskFrameAt : Infinity;
    },
    /** Whether the compositor may show the person at time `now` (ms). */
    personVisible(now) {
      if (!guard.hasMask || now - guard.maskFrameAt >= MAX_MASK_AGE_MS) return false;
      return guard.failedAt === null || now - guard.failedAt < MASK_HOLD_AFTER_FAILURE_MS;
    },
  };
  return guard;
}
