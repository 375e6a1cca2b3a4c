/** A steady tick for the frame loop from a worker: the page's own timers and requestAnimationFrame
 * (and requestVideoFrameCallback) stop or slow to 1 Hz in a hidden tab, a worker's timers do not.
 *
 * Messages in: {intervalMs} starts (or retimes) the tick, {intervalMs: 0} stops it. Out: a tick. */
let timer = 0;

self.onmessage = ({ data }) => {
  clearInterval(timer);
  timer = data.intervalMs > 0 ? setInterval(() => self.postMessage(0), data.intervalMs) : 0;
};
