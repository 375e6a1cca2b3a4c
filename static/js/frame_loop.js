/** Call `onFrame(now, metadata)` once per new camera frame until stopped. */

export function startFrameLoop(video, onFrame) {
  let running = true;
  let handle = 0;
  // requestVideoFrameCallback fires once per decoded camera frame (no redraw of a frame already
  // drawn); requestAnimationFrame is the fallback where it is missing.
  const perVideoFrame = typeof video.requestVideoFrameCallback === 'function';

  const tick = (now, metadata) => {
    if (!running) return;
    onFrame(now, metadata);
    handle = perVideoFrame ? video.requestVideoFrameCallback(tick) : requestAnimationFrame(tick);
  };
  handle = perVideoFrame ? video.requestVideoFrameCallback(tick) : requestAnimationFrame(tick);

  return function stop() {
    running = false;
    if (perVideoFrame) video.cancelVideoFrameCallback(handle);
    else cancelAnimationFrame(handle);
  };
}
