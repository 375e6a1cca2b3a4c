/** A steady tick for the frame loop from a worker: the page's own timers and requestAnimationFrame
 * (and requestVideoFrameCallback) stop or slow to 1 Hz in a hidden tab, a worker's timers do not.
 *
 * Messages in: {intervalMs} starts (or retimes) the tick, {intervalMs: 0} stops it, {done: true}
 * says the page has handled the last tick. Out: a tick.
 *
 * Ticks keep to a fixed grid (start + k * interval), so a timer that fires a few milliseconds late,
 * or a tick the page was slow to handle, is made up by the next one instead of every delay adding
 * up, as they did when each tick was timed from the last (no rate lost to that was measured here: a
 * guarantee, not a speed-up). One tick at a time: the next is sent only after the page said `done`. A page slower than
 * a whole interval behind the grid moves the grid to now rather than catching up with a burst, so a
 * page that draws slower than the camera (a hidden tab's drawing is deprioritised) ticks as fast as
 * it draws instead of piling up ticks it can never catch up with, which left its main thread busy
 * for good (measured in a really hidden tab). */
const state = { intervalMs: 0, timer: 0, nextTickAt: 0, awaitingDone: false };

function tick() {
  state.timer = 0;
  state.awaitingDone = true;
  self.postMessage(0);
}

function scheduleNext() {
  clearTimeout(state.timer);
  state.timer = 0;
  if (state.intervalMs <= 0 || state.awaitingDone) return;
  const now = performance.now();
  state.nextTickAt += state.intervalMs;
  if (state.nextTickAt < now - state.intervalMs) state.nextTickAt = now; // too far behind: no burst
  state.timer = setTimeout(tick, Math.max(0, state.nextTickAt - now));
}

self.onmessage = ({ data }) => {
  if (!data.done) {
    state.intervalMs = data.intervalMs;
    state.nextTickAt = performance.now() - state.intervalMs; // the first tick comes at once
  }
  state.awaitingDone = false;
  scheduleNext();
};
