/** Quality tiers, and a controller that steps between them so the output keeps up with the camera.
 *
 * The controller paces on what the user sees: the share of camera frames that reached the page.
 * requestVideoFrameCallback's `presentedFrames` advances by more than one between callbacks when
 * frames were dropped. The JavaScript time of a frame is a poor guide on its own: with software
 * WebGL (SwiftShader) most of a frame's cost lands in the GPU process after the callback returned,
 * so JS time looks cheap while frames are being dropped. JS time only vetoes stepping up. */

// internalScale: mask refinement resolution relative to the camera; jbuRadius: bilateral kernel
// half-width in model pixels ((2r+1)^2 taps).
export const QUALITY_TIERS = Object.freeze([
  Object.freeze({ name: 'high', internalScale: 1, jbuRadius: 2 }),
  Object.freeze({ name: 'medium', internalScale: 0.5, jbuRadius: 2 }),
  Object.freeze({ name: 'low', internalScale: 0.5, jbuRadius: 1 }),
  Object.freeze({ name: 'lowest', internalScale: 0.25, jbuRadius: 1 }),
]);
/** `?quality=auto` (the default): the controller picks the tier. */
export const AUTO_QUALITY = 'auto';

const WINDOW_CAMERA_FRAMES = 30; // camera frames per decision: 1 s at 30 fps
// Processed / camera frames in a window. Below BEHIND_RATIO the window fell behind; at or above
// KEEPS_UP_RATIO (the pipeline's 0.95 target) it kept up; in between it holds.
const BEHIND_RATIO = 0.85;
const KEEPS_UP_RATIO = 0.95;
const BEHIND_WINDOWS_TO_STEP_DOWN = 2; // in a row: one hitch (GC, model load, tab switch) is not a trend
const HEADROOM_FRACTION = 0.35; // of the camera's frame interval: mean JS time of a window with room to spare
const CALM_WINDOWS_TO_STEP_UP = 5; // windows that kept up with headroom, in a row, before trying a higher tier
// A step down within this many windows of a step up means the higher tier cannot keep up: the
// next try waits twice as long (up to the cap), so the tier does not see-saw.
const PROBE_WINDOWS = 10;
const MAX_CALM_WINDOWS_TO_STEP_UP = 160; // about 3 minutes at 30 fps
// A gap this long between callbacks is a pause (hidden tab, camera stall), not a slow pipeline.
const PAUSE_GAP_FRAMES = WINDOW_CAMERA_FRAMES;
const WIDE_CAMERA_PX = 960; // start below 'high' for cameras wider than this

/** The tier named by `?quality=` in a URL's query string, or null for automatic (absent, 'auto' or unknown). */
export function qualityFromUrl(search) {
  const name = new URLSearchParams(search).get('quality');
  return QUALITY_TIERS.some((tier) => tier.name === name) ? name : null;
}

export function createQualityController() {
  let index = 0;
  let pinnedIndex = -1; // -1: automatic
  // The current window.
  let callbacks = 0;
  let cameraFrames = 0;
  let sumMs = 0;
  // Across windows.
  let behindWindows = 0;
  let calmWindows = 0;
  let calmNeeded = CALM_WINDOWS_TO_STEP_UP;
  let windowsSinceStepUp = Infinity;

  function resetWindow() {
    callbacks = 0;
    cameraFrames = 0;
    sumMs = 0;
  }

  /** To the next cheaper tier; a step down right after a step up doubles the wait before the next try. */
  function stepDown() {
    index += 1;
    behindWindows = 0;
    calmWindows = 0;
    if (windowsSinceStepUp < PROBE_WINDOWS) calmNeeded = Math.min(2 * calmNeeded, MAX_CALM_WINDOWS_TO_STEP_UP);
    windowsSinceStepUp = Infinity; // no higher tier on trial now
    return true;
  }

  function stepUp() {
    index -= 1;
    behindWindows = 0;
    calmWindows = 0;
    windowsSinceStepUp = 0;
    return true;
  }

  /** Judge one finished window; true when the tier changed. */
  function decide(frameIntervalMs) {
    const ratio = callbacks / cameraFrames;
    const meanMs = sumMs / callbacks;
    resetWindow();
    windowsSinceStepUp += 1;
    // The higher tier held through its trial: later tries need only the usual calm period.
    if (windowsSinceStepUp === PROBE_WINDOWS) calmNeeded = CALM_WINDOWS_TO_STEP_UP;
    behindWindows = ratio < BEHIND_RATIO ? behindWindows + 1 : 0;
    if (behindWindows >= BEHIND_WINDOWS_TO_STEP_DOWN && index < QUALITY_TIERS.length - 1) return stepDown();
    const calm = ratio >= KEEPS_UP_RATIO && meanMs < HEADROOM_FRACTION * frameIntervalMs;
    calmWindows = calm ? calmWindows + 1 : 0;
    if (calmWindows >= calmNeeded && index > 0) return stepUp();
    return false;
  }

  return {
    get tier() { return QUALITY_TIERS[index]; },
    /** True when a fixed tier was asked for (`?quality=`); the controller then never changes it. */
    get pinned() { return pinnedIndex >= 0; },
    /** Fix the tier at `name` ('high', ...), or null to let the controller choose. */
    pin(name) {
      const found = name === null ? -1 : QUALITY_TIERS.findIndex((tier) => tier.name === name);
      if (name !== null && found < 0) throw new RangeError(`unknown quality tier "${name}"`);
      pinnedIndex = found;
      if (pinnedIndex >= 0) index = pinnedIndex;
    },
    /** Pick the starting tier for a camera `cameraWidth` px wide and forget the history. */
    start(cameraWidth) {
      index = pinnedIndex >= 0 ? pinnedIndex : Number(cameraWidth > WIDE_CAMERA_PX);
      resetWindow();
      behindWindows = 0;
      calmWindows = 0;
      calmNeeded = CALM_WINDOWS_TO_STEP_UP;
      windowsSinceStepUp = Infinity;
    },
    /**
     * Record one processed frame: `frameMs` of JS time, `framesAdvanced` camera frames since the
     * previous processed one (1 = none dropped), the camera's `frameIntervalMs`. True when the tier changed.
     */
    observe(frameMs, framesAdvanced, frameIntervalMs) {
      if (pinnedIndex >= 0) return false;
      if (!(framesAdvanced >= 1) || framesAdvanced > PAUSE_GAP_FRAMES) return false;
      callbacks += 1;
      cameraFrames += framesAdvanced;
      sumMs += frameMs;
      return cameraFrames >= WINDOW_CAMERA_FRAMES ? decide(frameIntervalMs) : false;
    },
  };
}
