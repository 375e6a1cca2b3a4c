/** Test-only camera: `?camera=file:<path>` in the page URL plays a video clip from this server as the
 * camera, so every engine (Firefox and WebKit have no y4m fake camera) can be judged on the same clip
 * with a real person in it. The clip goes through the same pipeline as a camera: what leaves the page is
 * still the composited canvas, never the clip itself. Only a same-origin path is accepted. */
import { UserError } from './user_error.js';
import { withDeadline } from './deadline.js';

const PARAM = 'camera';
const PREFIX = 'file:';
const CLIP_STYLE = 'position: fixed; right: 0; bottom: 0; width: 2px; height: 2px; opacity: 0.01; pointer-events: none';
// WebKitGTK (GStreamer) often stops a looping clip at its end (`loop`, or a seek back to 0 after
// 'ended'): paused false, readyState HAVE_CURRENT_DATA, currentTime at the duration, no frame again.
// A clip silent this long is loaded afresh, and from then on it is reloaded at each end instead of
// looping; engines whose loop works keep it. Far longer than a frame interval, even at 3 fps.
const STALL_MS = 1500;
const WATCHDOG_INTERVAL_MS = 500;
// WebKitGTK's first play() can stall the same way and never settle: each attempt gets this long (a
// loaded machine decodes the first frame within a second or two), then the clip is loaded afresh.
const START_DEADLINE_MS = 10000;
const START_ATTEMPTS = 3;

class ClipLate extends Error {}

/** The clip URL that `?camera=file:<path>` names, or null when the page uses a real camera. */
export function clipCameraFromUrl(search, base = globalThis.location?.href) {
  const value = new URLSearchParams(search).get(PARAM);
  if (!value?.startsWith(PREFIX)) return null;
  const url = new URL(value.slice(PREFIX.length), base);
  if (url.origin !== new URL(base).origin) {
    throw new UserError('The test camera clip must come from this server.', `Not ${url.origin}.`);
  }
  return url;
}

/** Play VIDEO (showing URL) from its start, loading it afresh after a stalled attempt; a UserError when it
 * cannot play (the video is removed then). */
async function startPlaying(video, url) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await withDeadline(video.play(), START_DEADLINE_MS, () => new ClipLate());
      return;
    } catch (error) {
      if (!(error instanceof ClipLate) || attempt === START_ATTEMPTS) {
        video.removeAttribute('src');
        video.remove();
        const why = error instanceof ClipLate
          ? `It did not start in ${START_ATTEMPTS} tries of ${START_DEADLINE_MS / 1000} s.`
          : `${error?.name ?? 'Error'}: ${error?.message ?? error}.`;
        throw new UserError('The test camera clip did not play.', `${url.pathname}: ${why}`, error);
      }
      video.load(); // a new decoding pipeline, as the watchdog does for a stalled loop
    }
  }
}

/** A MediaStream playing `url` over and over at `frameRate`, as getUserMedia would return for a camera. */
export async function openClipCamera(url, frameRate) {
  const video = document.createElement('video');
  video.muted = true;
  video.loop = true;
  video.playsInline = true;
  video.src = url.href;
  // On the page, barely visible: WebKit pauses a muted video that is detached or out of sight.
  video.style.cssText = CLIP_STYLE;
  document.body.append(video);
  await startPlaying(video, url);
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const context = canvas.getContext('2d');
  const stream = canvas.captureStream(frameRate);
  const [track] = stream.getVideoTracks();
  const perVideoFrame = typeof video.requestVideoFrameCallback === 'function';
  let running = true;
  let drawnAt = performance.now(); // of the latest clip frame drawn
  let restarts = 0; // track.clipRestarts, for diagnostics
  let pending = 0; // the requested video frame callback or timer

  const draw = () => {
    if (!running) return;
    context.drawImage(video, 0, 0);
    drawnAt = performance.now();
    pending = perVideoFrame ? video.requestVideoFrameCallback(draw) : setTimeout(draw, 1000 / frameRate);
  };
  const restart = () => {
    if (!running) return;
    restarts += 1;
    video.loop = false; // the engine's loop stalled once: each end now fires 'ended' and reloads
    drawnAt = performance.now(); // the fresh load has STALL_MS to show a frame
    video.load(); // a new decoding pipeline; the canvas keeps the last frame meanwhile
    video.play().catch(() => {}); // the watchdog tries again if this play fails too
    if (perVideoFrame) { // a callback asked of the old pipeline may never come
      video.cancelVideoFrameCallback(pending);
      pending = video.requestVideoFrameCallback(draw);
    }
  };
  const watchdog = setInterval(() => {
    if (performance.now() - drawnAt > STALL_MS) restart();
  }, WATCHDOG_INTERVAL_MS);
  video.addEventListener('ended', restart);

  // A canvas track stays 'live' after stop() in some engines' eyes; stop() is what closeCamera calls.
  const stop = track.stop.bind(track);
  track.stop = () => {
    running = false;
    clearInterval(watchdog);
    if (perVideoFrame) video.cancelVideoFrameCallback(pending);
    else clearTimeout(pending);
    video.pause();
    video.removeAttribute('src');
    video.remove();
    stop();
  };
  Object.defineProperty(track, 'clipRestarts', { get: () => restarts });
  draw();
  return stream;
}
