/** Whether a received picture moves: counts the frames a <video> presents and says when they stop
 * (a presenter's camera stopped or unplugged, a frozen connection) and when they come back. */

const STALL_MS = 3000; // no new frame for this long while live: the picture has stopped (90 frames at 30 fps)
const CHECK_EVERY_MS = 500; // how often the time since the last frame is looked at

/**
 * @param {HTMLVideoElement} video
 * @param {{onStall: () => void, onResume: () => void}} callbacks  each called once per stop or return
 */
export function watchFrames(video, { onStall, onResume }) {
  let frames = 0;
  let lastFrameAt = performance.now();
  let stalled = false;
  let timer = 0;

  function onFrame() {
    frames += 1;
    lastFrameAt = performance.now();
    if (stalled) {
      stalled = false;
      onResume();
    }
    video.requestVideoFrameCallback(onFrame);
  }

  function check() {
    if (stalled || performance.now() - lastFrameAt < STALL_MS) return;
    stalled = true;
    onStall();
  }

  video.requestVideoFrameCallback(onFrame);
  return {
    /** Frames presented so far: a count that grows proves the picture moves. */
    get frames() { return frames; },
    get stalled() { return stalled; },
    /** Start expecting frames (the link is live) or stop (waiting, ended): only a live picture stalls. */
    expect(live) {
      clearInterval(timer);
      stalled = false;
      if (!live) return;
      lastFrameAt = performance.now();
      timer = setInterval(check, CHECK_EVERY_MS);
    },
  };
}
