/** One camera frame in a texture, whose storage is allocated only when the camera's size changes. */
import { createTexture } from '../render_target.js';

export function buildCameraStage({ gl }) {
  const texture = createTexture(gl);
  const stage = {
    texture,
    width: 0,
    height: 0,
    /** (Re)allocate storage for a width x height camera (empty until the next update). */
    allocate(width, height) {
      stage.width = width;
      stage.height = height;
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, width, height, 0, gl.RGBA, gl.UNSIGNED_BYTE, null);
    },
    /** Copy the video's current frame into the texture (same size: allocate() first otherwise). */
    update(video) {
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, gl.RGBA, gl.UNSIGNED_BYTE, video);
    },
    cleanUp() {
      gl.deleteTexture(texture);
    },
  };
  return stage;
}
