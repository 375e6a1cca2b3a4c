/** Test-only camera: `?camera=file:<path>` in the page URL plays a video clip from this server as the
 * camera, so every engine (Firefox and WebKit have no y4m fake camera) can be judged on the same clip
 * with a real person in it. The clip goes through the same pipeline as a camera: what leaves the page is
 * still the composited canvas, never the clip itself. Only a same-origin path is accepted. */
import { UserError } from './user_error.js';

const PARAM = 'camera';
const PREFIX = 'file:';
const CLIP_STYLE = 'position: fixed; right: 0; bottom: 0; width: 2px; height: 2px; opacity: 0.01; pointer-events: none';

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

/** A MediaStream playing `url` in a loop at `frameRate`, as getUserMedia would return for a camera. */
export async function openClipCamera(url, frameRate) {
  const video = document.createElement('video');
  video.muted = true;
  video.loop = true;
  video.playsInline = true;
  video.src = url.href;
  // On the page, barely visible: WebKit pauses a muted video that is detached or out of sight.
  video.style.cssText = CLIP_STYLE;
  document.body.append(video);
  await video.play();
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const context = canvas.getContext('2d');
  const stream = canvas.captureStream(frameRate);
  const [track] = stream.getVideoTracks();
  const perVideoFrame = typeof video.requestVideoFrameCallback === 'function';
  // A canvas track stays 'live' after stop() in some engines' eyes; stop() is what closeCamera calls.
  let running = true;
  const stop = track.stop.bind(track);
  track.stop = () => {
    running = false;
    video.pause();
    video.removeAttribute('src');
    video.remove();
    stop();
  };
  const draw = () => {
    if (!running) return;
    context.drawImage(video, 0, 0);
    if (perVideoFrame) video.requestVideoFrameCallback(draw);
    else setTimeout(draw, 1000 / frameRate);
  };
  draw();
  return stream;
}
