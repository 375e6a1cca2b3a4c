/** Call `onFrame(now, metadata)` once per new camera frame until stopped, in a visible tab and a
 * hidden one alike.
 *
 * requestVideoFrameCallback fires once per decoded camera frame (with capture timestamps), but like
 * requestAnimationFrame it stops when the tab is hidden, and a teacher who switches to the slides
 * would freeze the class's picture. A worker's timer (not throttled in hidden tabs) stands in: it
 * ticks at the camera's rate and, while the tab is hidden, draws a frame whenever
 * requestVideoFrameCallback has been silent for longer than STALL_FRAMES intervals. In a visible
 * tab it never draws. The worker sends one tick at a time and waits for the page to handle it, so a
 * page that draws slower than the camera (hidden tabs' drawing is deprioritised) is never buried
 * under a backlog of ticks. */

const STALL_FRAMES = 1.5; // camera intervals without a callback before the worker takes over

export function startFrameLoop(video, onFrame, { cameraFps = 30 } = {}) {
  let running = true;
  let handle = 0;
  let lastCallbackAt = performance.now(); // of requestVideoFrameCallback (or rAF), not the worker
  const intervalMs = 1000 / cameraFps;
  const perVideoFrame = typeof video.requestVideoFrameCallback === 'function';
  const schedule = perVideoFrame
    ? (callback) => video.requestVideoFrameCallback(callback)
    : (callback) => requestAnimationFrame(callback);
  const cancel = perVideoFrame ? (id) => video.cancelVideoFrameCallback(id) : (id) => cancelAnimationFrame(id);

  const tick = (now, metadata) => {
    if (!running) return;
    lastCallbackAt = performance.now();
    onFrame(now, metadata);
    handle = schedule(tick);
  };
  handle = schedule(tick);

  const ticker = new Worker(new URL('./frame_ticker_worker.js', import.meta.url), { type: 'module' });
  const done = { done: true }; // reused: no allocation per tick
  ticker.onmessage = () => {
    const now = performance.now();
    // Only a hidden tab: a visible one whose camera delivers slowly (a loaded machine) must not
    // draw the same camera frame again and again. Once the video callbacks have gone quiet, every
    // tick draws, at the camera's rate or as fast as drawing allows, whichever is slower.
    if (running && document.visibilityState === 'hidden' && now - lastCallbackAt >= STALL_FRAMES * intervalMs) {
      onFrame(now, null); // no metadata: no capture time, no presented-frame count
    }
    if (running) ticker.postMessage(done); // the next tick comes only after this one is handled
  };
  ticker.postMessage({ intervalMs });

  return function stop() {
    running = false;
    cancel(handle);
    ticker.postMessage({ intervalMs: 0 });
    ticker.terminate();
  };
}
