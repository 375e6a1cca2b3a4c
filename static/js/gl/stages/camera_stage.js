/** One camera frame in a texture. Its owner (frame_ring.js) gives it storage with `allocate` when the
 * camera's size changes; `render` only overwrites that storage, once per frame. */
import { createTexture } from '../render_target.js';

export function buildCameraStage({ gl }) {
  const texture = createTexture(gl);

  /** Give the texture storage for frames of this size (the ring calls it only when the size changed). */
  function allocate(width, height) {
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, width, height, 0, gl.RGBA, gl.UNSIGNED_BYTE, null);
  }

  return {
    allocate,
    /** Copy the video's current frame (of the allocated size) into the texture; returns the texture. */
    render(video) {
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, gl.RGBA, gl.UNSIGNED_BYTE, video);
      return texture;
    },
    cleanUp() {
      gl.deleteTexture(texture);
    },
  };
}
