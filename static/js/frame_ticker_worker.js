/** A steady tick for the frame loop from a worker: the page's own timers and requestAnimationFrame
 * (and requestVideoFrameCallback) stop or slow to 1 Hz in a hidden tab, a worker's timers do not.
 *
 * Messages in: {intervalMs} starts (or retimes) the tick, {intervalMs: 0} stops it, {done: true}
 * says the page has handled the last tick. Out: a tick.
 *
 * One tick at a time: the next is sent only after the page said `done`, and no sooner than one
 * interval after the previous one. A page slower than the interval (a hidden tab's drawing is
 * deprioritised) then ticks as fast as it draws instead of piling up ticks it can never catch up
 * with, which left its main thread busy for good (measured in a really hidden tab). */
const state = { intervalMs: 0, timer: 0, lastTickAt: 0, awaitingDone: false };

function tick() {
  state.timer = 0;
  state.lastTickAt = performance.now();
  state.awaitingDone = true;
  self.postMessage(0);
}

function scheduleNext() {
  clearTimeout(state.timer);
  state.timer = 0;
  if (state.intervalMs <= 0 || state.awaitingDone) return;
  const wait = Math.max(0, state.lastTickAt + state.intervalMs - performance.now());
  state.timer = setTimeout(tick, wait);
}

self.onmessage = ({ data }) => {
  if (data.done) {
    state.awaitingDone = false;
  } else {
    state.intervalMs = data.intervalMs;
    state.awaitingDone = false;
  }
  scheduleNext();
};
