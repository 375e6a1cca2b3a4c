/** The motion gate: decide per frame whether the segmenter must run, from how much the picture
 * changed inside the last mask's edge band (gl/stages/gate_stage.js measures it).
 *
 * A still speaker keeps the same silhouette, so re-running the model would return the same mask:
 * talking and blinking happen far from the edge and are ignored; a shoulder or head that moves
 * changes pixels in the band and re-runs segmentation at once. */

export const GATE_DEFAULTS = Object.freeze({
  // Fraction of the band's pixels that changed: 1.5% is a pixel or two of real edge motion; noise and
  // lighting flicker stay below it (pixel changes under the gate stage's threshold do not count).
  // Measured (benchmarks/pipeline.py): at 3% the gate reused stale masks as motion began (IoU 1.1-1.7
  // points below ungated on the move phase); at 1.5% it runs on 84% of moving frames, as ungated
  // does, and still skips 94% of still and 93% of talking frames.
  runAboveChangedFraction: 0.015,
  // Re-run regardless after this many skipped frames (0.5 s at 30 fps), so slow drifts and
  // changes the band cannot see (someone entering from the side) still reach the mask.
  maxSkippedFrames: 15,
  // ... and whenever the mask describes a frame older than this (ms), so that a slow camera or a
  // hidden tab still refreshes it well inside privacy_guard.js's MAX_MASK_AGE_MS.
  maxMaskAgeMs: 500,
  // Frames over which the reported skip rate is averaged (2 s at 30 fps).
  statsWindowFrames: 60,
});

export function createMotionGate(options = {}) {
  const settings = { ...GATE_DEFAULTS, ...options };
  const history = new Uint8Array(settings.statsWindowFrames); // 1 = skipped
  let historyIndex = 0;
  let historyFilled = 0;
  let skippedInWindow = 0;
  let skippedInARow = 0;

  function record(skipped) {
    if (historyFilled === history.length) skippedInWindow -= history[historyIndex];
    else historyFilled += 1;
    history[historyIndex] = skipped ? 1 : 0;
    skippedInWindow += history[historyIndex];
    historyIndex = (historyIndex + 1) % history.length;
  }

  const gate = {
    enabled: options.enabled ?? true,
    /** 'running' after a frame that re-ran segmentation, 'skipping' after one that reused the mask. */
    state: 'running',
    lastChangedFraction: 0,
    /** Decide for this frame; `measure` is {changedInBand, bandArea} or null without a mask;
     * `maskAgeMs`: how long ago the mask's frame was taken. */
    shouldRun(measure, maskAgeMs = 0) {
      const run = !gate.fits(measure)
        || skippedInARow >= settings.maxSkippedFrames
        || maskAgeMs >= settings.maxMaskAgeMs;
      skippedInARow = run ? 0 : skippedInARow + 1;
      gate.state = run ? 'running' : 'skipping';
      record(!run);
      return run;
    },
    /** Whether the mask fits a frame with this `measure` (changed fraction at or below the threshold),
     * without counting it as a decision: a frame that waited for the segmenter is checked against
     * the mask that just arrived for an earlier frame. */
    fits(measure) {
      if (!gate.enabled || measure === null || !(measure.bandArea > 0)) return false;
      gate.lastChangedFraction = measure.changedInBand / measure.bandArea;
      return gate.lastChangedFraction <= settings.runAboveChangedFraction;
    },
    /** Fraction of recent frames that reused the mask. */
    get skipRate() {
      return historyFilled ? skippedInWindow / historyFilled : 0;
    },
    reset() {
      history.fill(0);
      historyIndex = 0;
      historyFilled = 0;
      skippedInWindow = 0;
      skippedInARow = 0;
      gate.state = 'running';
    },
  };
  return gate;
}
