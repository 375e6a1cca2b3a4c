/** The intranet admin's backgrounds (`vbg serve --backgrounds-dir`): listed by the server, drawn like the built-ins.
 *
 * The server checked every file at start-up and lists the good ones at /api/backgrounds
 * (webapp/blueprints/backgrounds.py): `{backgrounds: [{id, name, url, kind, default}], organisation}`.
 * A picture is fetched (cached by the browser for a year: its URL carries its hash) and cover-fitted
 * into an ImageBitmap, as a built-in is painted; a video gives its first frame as a still here, and
 * plays in a loop through openAdminVideo(). */
import { openLoopingVideo } from './video.js';

/** How the settings name an admin background: 'admin:<file stem>'. */
export const ADMIN_IMAGE_PREFIX = 'admin:';
export const ADMIN_LIST_URL = '/api/backgrounds';
const MAX_ID_LENGTH = 512; // characters; a file stem is at most 255 bytes
const VIDEO_FRAME_TIMEOUT_MS = 15000; // as for an uploaded video: no first frame by then, not playable

const EMPTY_LISTING = Object.freeze({ backgrounds: Object.freeze([]), organisation: Object.freeze({ name: '', logoUrl: null }) });
// One request per page: the list is fixed for the life of the server process.
const listings = new Map(); // url -> Promise of the listing

/** Whether `value` is an admin background's settings id (its file may since have gone). */
export function isAdminImageId(value) {
  return typeof value === 'string' && value.startsWith(ADMIN_IMAGE_PREFIX)
    && value.length > ADMIN_IMAGE_PREFIX.length && value.length <= MAX_ID_LENGTH;
}

/** The server's listing; the built-ins only (an empty listing) when it cannot be read. */
export function loadAdminBackgrounds(url = ADMIN_LIST_URL) {
  if (!listings.has(url)) {
    listings.set(url, fetch(url, { credentials: 'same-origin' })
      .then((response) => (response.ok ? response.json() : EMPTY_LISTING))
      .then((listing) => (Array.isArray(listing?.backgrounds) ? listing : EMPTY_LISTING))
      .catch(() => EMPTY_LISTING));
  }
  return listings.get(url);
}

/** The listing's entry for `id` ('admin:lobby'), or null when this server does not list it (any more). */
export async function findAdminBackground(id) {
  if (!isAdminImageId(id)) return null;
  const stem = id.slice(ADMIN_IMAGE_PREFIX.length);
  const { backgrounds } = await loadAdminBackgrounds();
  return backgrounds.find((entry) => entry.id === stem) ?? null;
}

async function findBackground(id) {
  const background = await findAdminBackground(id);
  if (!background) throw new RangeError(`no admin background "${id}" on this server`);
  return background;
}

/** A video element showing the first frame of `url` (muted, not playing), and its release. */
function firstVideoFrame(url) {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.preload = 'auto';
  const release = () => {
    video.removeAttribute('src');
    video.load();
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no video frame after ${VIDEO_FRAME_TIMEOUT_MS} ms`)), VIDEO_FRAME_TIMEOUT_MS);
    // A frame that was presented, not only loaded: Chromium draws a loaded but never played video as black.
    video.addEventListener('loadeddata', () => {
      const shown = () => {
        clearTimeout(timer);
        video.pause();
        resolve(video);
      };
      if (typeof video.requestVideoFrameCallback === 'function') video.requestVideoFrameCallback(shown);
      else video.addEventListener('playing', shown, { once: true });
      video.play().catch(reject);
    }, { once: true });
    video.addEventListener('error', () => {
      clearTimeout(timer);
      reject(new Error(`the video could not be opened (media error ${video.error?.code})`));
    }, { once: true });
    video.src = url;
  }).then((shown) => ({ source: shown, release }), (error) => {
    release();
    throw error;
  });
}

async function decodedPicture(url) {
  const response = await fetch(url, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`the picture could not be fetched (HTTP ${response.status})`);
  const bitmap = await createImageBitmap(await response.blob());
  return { source: bitmap, release: () => bitmap.close() };
}

/** Paint admin background `id` ('admin:lobby') at `width` x `height` px, cover-fitted; resolves to an ImageBitmap
 * (a video's first frame). */
export async function renderAdminBackground(id, width, height) {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`background size must be positive integers, got ${width}x${height}`);
  }
  const background = await findBackground(id);
  const { source, release } = background.kind === 'video'
    ? await firstVideoFrame(background.url)
    : await decodedPicture(background.url);
  try {
    const sourceWidth = source.videoWidth || source.width;
    const sourceHeight = source.videoHeight || source.height;
    const canvas = new OffscreenCanvas(width, height);
    const scale = Math.max(width / sourceWidth, height / sourceHeight);
    const drawWidth = sourceWidth * scale;
    const drawHeight = sourceHeight * scale;
    canvas.getContext('2d').drawImage(source, (width - drawWidth) / 2, (height - drawHeight) / 2, drawWidth, drawHeight);
    return canvas.transferToImageBitmap();
  } finally {
    release();
  }
}

/** Open admin video background `id` as a muted, looping, playing video: `{video, width, height, play(), pause(), release()}`. */
export async function openAdminVideo(id) {
  const background = await findBackground(id);
  if (background.kind !== 'video') throw new TypeError(`admin background "${background.id}" is not a video`);
  return openLoopingVideo(background.url);
}
