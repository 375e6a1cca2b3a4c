/** The background picture as a texture, and the cover-fit mapping from output to picture uv. */
import { createTexture } from '../render_target.js';

export function buildBackgroundStage({ gl }) {
  const texture = createTexture(gl);
  gl.bindTexture(gl.TEXTURE_2D, texture);
  // 1x1 neutral grey until a picture is chosen.
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, 1, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array([128, 128, 128, 255]));
  let imageWidth = 1;
  let imageHeight = 1;
  const transform = new Float32Array([1, 1, 0, 0]);

  return {
    texture,
    /** Upload a picture (ImageBitmap, canvas or image element). */
    setImage(source) {
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, source);
      imageWidth = source.width;
      imageHeight = source.height;
    },
    /** Cover-fit: fill the output, crop the picture's excess symmetrically. Reused array. */
    coverTransform(outputWidth, outputHeight) {
      const outputAspect = outputWidth / outputHeight;
      const imageAspect = imageWidth / imageHeight;
      const scaleX = outputAspect < imageAspect ? outputAspect / imageAspect : 1;
      const scaleY = outputAspect < imageAspect ? 1 : imageAspect / outputAspect;
      transform[0] = scaleX;
      transform[1] = scaleY;
      transform[2] = (1 - scaleX) / 2;
      transform[3] = (1 - scaleY) / 2;
      return transform;
    },
    cleanUp() {
      gl.deleteTexture(texture);
    },
  };
}
