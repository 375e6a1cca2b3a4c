/** The background picture or video as a texture, and the cover-fit mapping from output to its uv. */
import { createTexture } from '../render_target.js';

export function buildBackgroundStage({ gl }) {
  const texture = createTexture(gl);
  gl.bindTexture(gl.TEXTURE_2D, texture);
  // 1x1 neutral grey until a picture is chosen.
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, 1, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array([128, 128, 128, 255]));
  let imageWidth = 1;
  let imageHeight = 1;
  let video = null; // the playing background video, or null for a still picture
  let uploadedTime = -1; // video time (s) of the frame in the texture
  const transform = new Float32Array([1, 1, 0, 0]);

  return {
    texture,
    /** Upload a picture (ImageBitmap, canvas or image element); stops following any video. */
    setImage(source) {
      video = null;
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, source);
      imageWidth = source.width;
      imageHeight = source.height;
    },
    /** Follow a playing video element: update() copies each of its new frames into the texture. */
    setVideo(element) {
      video = element;
      uploadedTime = -1;
    },
    /** Copy the video's current frame when it has moved on since the last copy; no-op for a picture. */
    update() {
      if (!video || video.readyState < video.HAVE_CURRENT_DATA || video.currentTime === uploadedTime) return;
      uploadedTime = video.currentTime;
      gl.bindTexture(gl.TEXTURE_2D, texture);
      // Storage is (re)allocated only when the size changes; every other frame overwrites it in place.
      if (video.videoWidth !== imageWidth || video.videoHeight !== imageHeight) {
        imageWidth = video.videoWidth;
        imageHeight = video.videoHeight;
        gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, video);
      } else {
        gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, gl.RGBA, gl.UNSIGNED_BYTE, video);
      }
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
