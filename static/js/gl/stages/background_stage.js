/** The background picture or video as a texture, and the cover-fit mapping from output to its uv. */
import { createTexture } from '../render_target.js';

const NEUTRAL_GREY = new Uint8Array([128, 128, 128, 255]); // 1x1 RGBA until a picture is chosen

export function buildBackgroundStage({ gl }) {
  const texture = createTexture(gl);
  gl.bindTexture(gl.TEXTURE_2D, texture);
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, 1, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, NEUTRAL_GREY);
  let imageWidth = 1;
  let imageHeight = 1;
  let shown = null; // the picture or video element whose content is in the texture
  let uploadedTime = -1; // video time (s) of the frame in the texture
  const transform = new Float32Array([1, 1, 0, 0]);
  const output = { texture, transform };

  /** Copy a picture (ImageBitmap, canvas or image element), or a video's current frame, into the texture. */
  function uploadPicture(source, width, height) {
    gl.bindTexture(gl.TEXTURE_2D, texture);
    // Storage is (re)allocated only when the size changes; every other frame overwrites it in place.
    if (width !== imageWidth || height !== imageHeight) {
      imageWidth = width;
      imageHeight = height;
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, source);
    } else {
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, gl.RGBA, gl.UNSIGNED_BYTE, source);
    }
  }

  /** Cover-fit: fill the output, crop the picture's excess symmetrically. */
  function fitCover(outputWidth, outputHeight) {
    const outputAspect = outputWidth / outputHeight;
    const imageAspect = imageWidth / imageHeight;
    const scaleX = outputAspect < imageAspect ? outputAspect / imageAspect : 1;
    const scaleY = outputAspect < imageAspect ? 1 : imageAspect / outputAspect;
    transform[0] = scaleX;
    transform[1] = scaleY;
    transform[2] = (1 - scaleX) / 2;
    transform[3] = (1 - scaleY) / 2;
  }

  return {
    /**
     * Show `source` (a picture, a playing video element, or null to keep what is shown) on an
     * output of outputWidth x outputHeight. A picture is uploaded when it is not the one shown
     * (the caller may close it afterwards); a video's frame when the video has moved on.
     * Returns {texture, transform: cover-fit uv = v_uv * xy + zw}, the same object every time.
     */
    render(source, outputWidth, outputHeight) {
      if (source instanceof HTMLVideoElement) {
        if (source !== shown) uploadedTime = -1;
        shown = source;
        if (source.readyState >= source.HAVE_CURRENT_DATA && source.currentTime !== uploadedTime) {
          uploadedTime = source.currentTime;
          uploadPicture(source, source.videoWidth, source.videoHeight);
        }
      } else if (source && source !== shown) {
        shown = source;
        uploadPicture(source, source.width, source.height);
      }
      fitCover(outputWidth, outputHeight);
      return output;
    },
    cleanUp() {
      gl.deleteTexture(texture);
    },
  };
}
