/** The user's own background picture: checked and decoded in the browser, never sent anywhere.
 *
 * The checks run cheapest first: the type and the byte size from the File itself, the pixel size
 * from the image header (an <img> learns it without decoding every pixel), and only then the full
 * decode, downscaled to what the compositor can use. */

/** The MIME types we decode; also the file picker's accept list. */
export const ACCEPTED_TYPES = Object.freeze(['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/avif', 'image/bmp']);
// Some systems hand over a file without a MIME type; then its extension decides.
const ACCEPTED_EXTENSIONS = Object.freeze(['jpg', 'jpeg', 'jfif', 'png', 'webp', 'gif', 'avif', 'bmp']);
const MAX_BYTES = 25 * 1024 * 1024; // 25 MB: a large phone photo is under 15 MB
const MAX_SIDE = 16384; // px: the largest canvas/texture side browsers promise
// 4 bytes per decoded pixel: 100 MP is 400 MB, about what a phone's tab can spare.
const MAX_PIXELS = 100e6;
const MAX_OUTPUT_SIDE = 1920; // px: the background never needs more than a 1080p frame

/** A refused picture, with words for the user: `{code, title, advice}`. */
export class UploadError extends Error {
  /** @param {string} code 'type' | 'size' | 'corrupt' | 'dimensions' @param {string} title @param {string} advice */
  constructor(code, title, advice, cause) {
    super(`${title} ${advice}`);
    this.name = 'UploadError';
    this.code = code;
    this.title = title;
    this.advice = advice;
    this.cause = cause;
  }
}

function describeMegabytes(bytes) {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function hasAcceptedType(file) {
  if (file.type) return ACCEPTED_TYPES.includes(file.type.toLowerCase());
  const extension = file.name?.split('.').pop()?.toLowerCase() ?? '';
  return ACCEPTED_EXTENSIONS.includes(extension);
}

function corrupt(cause) {
  return new UploadError('corrupt', 'This image could not be read.',
    'The file may be damaged or not really an image. Try another picture, or save it again as JPEG or PNG.', cause);
}

/** Load the file into an <img> to learn its size (the header is enough; pixels decode later). */
function readHeader(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.decoding = 'async';
    image.onload = () => resolve(image);
    image.onerror = () => reject(corrupt(new Error('the browser could not load the image')));
    image.src = url;
  });
}

/** Check and decode `file` into an ImageBitmap, long side at most 1920 px; throws UploadError. */
export async function loadUploadedImage(file) {
  if (!(file instanceof Blob)) throw new TypeError('loadUploadedImage expects a File or Blob');
  if (!hasAcceptedType(file)) {
    throw new UploadError('type', 'This file is not a picture we can use.',
      'Choose a JPEG, PNG, WebP, GIF, AVIF or BMP image.');
  }
  if (file.size > MAX_BYTES) {
    throw new UploadError('size', `This image is too large (${describeMegabytes(file.size)}).`,
      `Choose one under ${describeMegabytes(MAX_BYTES)}, or save a smaller copy (1920 px wide is plenty).`);
  }
  if (file.size === 0) throw corrupt(new Error('the file is empty'));
  const url = URL.createObjectURL(file);
  try {
    const image = await readHeader(url);
    const { naturalWidth: width, naturalHeight: height } = image;
    if (!width || !height) throw corrupt(new Error('the image has no size'));
    if (width > MAX_SIDE || height > MAX_SIDE || width * height > MAX_PIXELS) {
      throw new UploadError('dimensions', `This image is too large (${width} x ${height} pixels).`,
        `Choose one at most ${MAX_SIDE} pixels on each side and ${MAX_PIXELS / 1e6} megapixels, or save a smaller copy (1920 px wide is plenty).`);
    }
    const scale = Math.min(1, MAX_OUTPUT_SIDE / Math.max(width, height));
    try {
      return await createImageBitmap(image, {
        resizeWidth: Math.max(1, Math.round(width * scale)),
        resizeHeight: Math.max(1, Math.round(height * scale)),
        resizeQuality: 'high',
      });
    } catch (error) {
      throw corrupt(error);
    }
  } finally {
    URL.revokeObjectURL(url);
  }
}
