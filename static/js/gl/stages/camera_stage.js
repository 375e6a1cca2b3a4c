/** One camera frame in a texture, whose storage is allocated only when the camera's size changes. */
import { createTexture } from '../render_target.js';

export function buildCameraStage({ gl }) {
  const texture = createTexture(gl);
  let width = 0;
  let height = 0;

  /** Give the texture storage for frames of this size (nothing to do when it already has it). */
  function allocate(frameWidth, frameHeight) {
    if (frameWidth === width && frameHeight === height) return;
    width = frameWidth;
    height = frameHeight;
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, width, height, 0, gl.RGBA, gl.UNSIGNED_BYTE, null);
  }

  return {
    allocate,
    /** Copy the video's current frame into the texture; returns the texture. Every frame of the
     * allocated size overwrites the storage in place. */
    render(video) {
      allocate(video.videoWidth, video.videoHeight);
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, gl.RGBA, gl.UNSIGNED_BYTE, video);
      return texture;
    },
    cleanUp() {
      gl.deleteTexture(texture);
    },
  };
}
