/** Quality tiers, and a controller that steps between them so rendering keeps up with the camera. */

// internalScale: mask refinement resolution relative to the camera; jbuRadius: bilateral kernel
// half-width in model pixels ((2r+1)^2 taps).
export const QUALITY_TIERS = Object.freeze([
  Object.freeze({ name: 'high', internalScale: 1, jbuRadius: 2 }),
  Object.freeze({ name: 'medium', internalScale: 0.5, jbuRadius: 2 }),
  Object.freeze({ name: 'low', internalScale: 0.5, jbuRadius: 1 }),
  Object.freeze({ name: 'lowest', internalScale: 0.25, jbuRadius: 1 }),
]);

const BUDGET_FRACTION = 0.75; // of the camera's frame interval, leaving room for the browser
const HEADROOM_FRACTION = 0.35; // step up only when a frame costs less than this
const WINDOW_FRAMES = 30; // average over 1 s at 30 fps before deciding
const STEP_UP_AFTER_WINDOWS = 4; // and only after 4 calm windows in a row, to avoid see-sawing
const WIDE_CAMERA_PX = 960; // start below 'high' for cameras wider than this

export function createQualityController() {
  let index = 0;
  let sumMs = 0;
  let frames = 0;
  let calmWindows = 0;

  const controller = {
    get tier() { return QUALITY_TIERS[index]; },
    /** Pick the starting tier for a camera size. */
    start(cameraWidth) {
      index = cameraWidth > WIDE_CAMERA_PX ? 1 : 0;
      sumMs = 0;
      frames = 0;
      calmWindows = 0;
    },
    /** Record one frame's processing time; returns true when the tier changed. */
    observe(frameMs, frameIntervalMs) {
      sumMs += frameMs;
      frames += 1;
      if (frames < WINDOW_FRAMES) return false;
      const mean = sumMs / frames;
      sumMs = 0;
      frames = 0;
      if (mean > BUDGET_FRACTION * frameIntervalMs && index < QUALITY_TIERS.length - 1) {
        index += 1;
        calmWindows = 0;
        return true;
      }
      calmWindows = mean < HEADROOM_FRACTION * frameIntervalMs ? calmWindows + 1 : 0;
      if (calmWindows >= STEP_UP_AFTER_WINDOWS && index > 0) {
        index -= 1;
        calmWindows = 0;
        return true;
      }
      return false;
    },
  };
  return controller;
}
