/** The user's own background video: checked and opened in the browser, never sent anywhere.
 *
 * The checks run cheapest first: the type and the byte size from the File itself, then the
 * browser opens the file from an object URL and must decode its first frame within a time limit;
 * only then are the picture's dimensions known. The video plays muted and looped; the object URL
 * lives as long as the video and is revoked by release(). */
import { UploadError } from './upload.js';

/** The MIME types we play; added to the file picker's accept list. */
export const ACCEPTED_VIDEO_TYPES = Object.freeze(['video/mp4', 'video/webm']);
// Some systems hand over a file without a MIME type; then its extension decides.
const ACCEPTED_VIDEO_EXTENSIONS = Object.freeze(['mp4', 'm4v', 'webm']);
const MAX_BYTES = 200 * 1024 * 1024; // 200 MB: a minute of 1080p phone video is about 130 MB
// px: each frame is copied into a texture on every composited frame; beyond 1080p that costs
// more than the picture gains behind a person (the same bound as uploaded images).
const MAX_SIDE = 1920;
const OPEN_TIMEOUT_MS = 15000; // a file that has not shown its first frame by then is not playable

/** Whether `file` is meant as a video (by MIME type, or by extension when the type is missing). */
export function isVideoFile(file) {
  if (file.type) return file.type.toLowerCase().startsWith('video/');
  const extension = file.name?.split('.').pop()?.toLowerCase() ?? '';
  return ACCEPTED_VIDEO_EXTENSIONS.includes(extension);
}

function hasAcceptedType(file) {
  if (file.type) return ACCEPTED_VIDEO_TYPES.includes(file.type.toLowerCase());
  const extension = file.name?.split('.').pop()?.toLowerCase() ?? '';
  return ACCEPTED_VIDEO_EXTENSIONS.includes(extension);
}

function describeMegabytes(bytes) {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function unplayable(cause) {
  return new UploadError('corrupt', 'This video could not be played.',
    'The file may be damaged, or use a format this browser cannot decode. Try another video, or save it again as WebM (VP8/VP9) or MP4 (H.264).', cause);
}

/** Resolve once `video` has decoded its first frame; reject with an UploadError otherwise. */
function firstFrame(video) {
  return new Promise((resolve, reject) => {
    const done = (settle, value) => {
      clearTimeout(timer);
      video.removeEventListener('loadeddata', onLoaded);
      video.removeEventListener('error', onError);
      settle(value);
    };
    const onLoaded = () => done(resolve);
    const onError = () => done(reject, unplayable(new Error(video.error?.message || `media error ${video.error?.code}`)));
    const timer = setTimeout(() => done(reject, unplayable(new Error(`no frame after ${OPEN_TIMEOUT_MS} ms`))), OPEN_TIMEOUT_MS);
    video.addEventListener('loadeddata', onLoaded);
    video.addEventListener('error', onError);
  });
}

/**
 * Check and open `file` as a muted, looping, playing video; throws UploadError.
 * Resolves to `{video, width, height, play(), pause(), release()}`.
 */
export async function loadUploadedVideo(file) {
  if (!(file instanceof Blob)) throw new TypeError('loadUploadedVideo expects a File or Blob');
  if (!hasAcceptedType(file)) {
    throw new UploadError('type', 'This file is not a video we can use.', 'Choose an MP4 or WebM video.');
  }
  if (file.size > MAX_BYTES) {
    throw new UploadError('size', `This video is too large (${describeMegabytes(file.size)}).`,
      `Choose one under ${describeMegabytes(MAX_BYTES)}: a short clip is enough, it plays in a loop.`);
  }
  if (file.size === 0) throw unplayable(new Error('the file is empty'));

  const url = URL.createObjectURL(file);
  return openLoopingVideo(url, () => URL.revokeObjectURL(url));
}

/**
 * Open `url` as a muted, looping, playing video (an object URL of an upload, or an admin's background
 * from this server); throws UploadError. `onRelease()` runs once the video has let go of it.
 * Resolves to `{video, width, height, play(), pause(), release()}`.
 */
export async function openLoopingVideo(url, onRelease = () => {}) {
  const video = document.createElement('video');
  video.muted = true; // muted video may play without a user gesture, and a background has no sound
  video.loop = true;
  video.playsInline = true;
  video.preload = 'auto';
  const release = () => {
    video.pause();
    video.removeAttribute('src');
    video.load(); // drops the decoder and the file
    onRelease();
  };
  try {
    const loaded = firstFrame(video);
    video.src = url;
    await loaded;
    const { videoWidth: width, videoHeight: height } = video;
    if (!width || !height) throw unplayable(new Error('the file has no video track'));
    if (width > MAX_SIDE || height > MAX_SIDE) {
      throw new UploadError('dimensions', `This video is too large (${width} x ${height} pixels).`,
        `Choose one at most ${MAX_SIDE} pixels on each side (1080p), or save a smaller copy.`);
    }
    await video.play().catch((error) => {
      throw unplayable(error);
    });
  } catch (error) {
    release();
    throw error;
  }

  return {
    video,
    width: video.videoWidth,
    height: video.videoHeight,
    /** Resume playing (when its background is shown again). */
    play() {
      // A pause() before play() settles rejects it with AbortError; the next play() resumes.
      video.play().catch(() => {});
    },
    /** Stop decoding while another background is shown. */
    pause() {
      video.pause();
    },
    /** Stop for good and free the file. */
    release,
  };
}
