/** Gallery thumbnails: small canvases that preview each background choice. */
import { renderBuiltinBackground } from '../backgrounds/builtin.js';

// The blur previews blur the busiest built-in picture, so the difference between levels shows.
const BLUR_PREVIEW_BACKGROUND = 'bookshelf';
// Blur radius as a fraction of the thumbnail width; the ratio between them mirrors light vs strong.
const BLUR_PREVIEW_RADIUS = Object.freeze({ light: 0.012, strong: 0.035 });
const SILHOUETTE_COLOUR = 'rgba(245, 247, 250, 0.92)';

/** A head-and-shoulders outline, so blur tiles read as "you, in front of your room". */
function drawSilhouette(ctx, width, height) {
  const centreX = width / 2;
  const headRadius = height * 0.15;
  const headY = height * 0.45;
  const shoulderHalfWidth = height * 0.36;
  ctx.fillStyle = SILHOUETTE_COLOUR;
  ctx.beginPath();
  ctx.arc(centreX, headY, headRadius, 0, Math.PI * 2);
  ctx.fill();
  ctx.beginPath();
  ctx.moveTo(centreX - shoulderHalfWidth, height);
  ctx.bezierCurveTo(centreX - shoulderHalfWidth, headY + headRadius * 1.6,
    centreX + shoulderHalfWidth, headY + headRadius * 1.6, centreX + shoulderHalfWidth, height);
  ctx.closePath();
  ctx.fill();
}

/** Draw `source` into `canvas`, scaled to cover it and centred. */
function drawCover(ctx, source, width, height) {
  const sourceWidth = source.videoWidth || source.naturalWidth || source.width;
  const sourceHeight = source.videoHeight || source.naturalHeight || source.height;
  if (!sourceWidth || !sourceHeight) return;
  const scale = Math.max(width / sourceWidth, height / sourceHeight);
  const drawWidth = sourceWidth * scale;
  const drawHeight = sourceHeight * scale;
  ctx.drawImage(source, (width - drawWidth) / 2, (height - drawHeight) / 2, drawWidth, drawHeight);
}

/** Preview built-in background `id`. */
export async function drawBuiltinThumbnail(canvas, id) {
  const bitmap = await renderBuiltinBackground(id, canvas.width, canvas.height);
  canvas.getContext('2d').drawImage(bitmap, 0, 0);
  bitmap.close();
}

/** Preview a blur level: a blurred room behind a sharp silhouette. */
export async function drawBlurThumbnail(canvas, level) {
  const { width, height } = canvas;
  const bitmap = await renderBuiltinBackground(BLUR_PREVIEW_BACKGROUND, width, height);
  const ctx = canvas.getContext('2d');
  ctx.save();
  ctx.filter = `blur(${(BLUR_PREVIEW_RADIUS[level] * width).toFixed(2)}px)`;
  // Drawn a little larger than the canvas so the blur does not fade in from the edges.
  const bleed = BLUR_PREVIEW_RADIUS[level] * width * 3;
  ctx.drawImage(bitmap, -bleed, -bleed, width + 2 * bleed, height + 2 * bleed);
  ctx.restore();
  bitmap.close();
  drawSilhouette(ctx, width, height);
}

/** Preview a plain colour. */
export function drawColourThumbnail(canvas, colour) {
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = colour;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
}

/** Preview the user's own picture (an ImageBitmap, image or canvas; a video's current frame), cover-fitted. */
export function drawPictureThumbnail(canvas, source) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  drawCover(ctx, source, canvas.width, canvas.height);
}
