/** One camera frame in a texture, whose storage is allocated only when the camera's size changes. */
import { createTexture } from '../render_target.js';

export function buildCameraStage({ gl }) {
  const texture = createTexture(gl);
  let width = 0;
  let height = 0;

  return {
    /** Copy the video's current frame into the texture; returns the texture. Storage is
     * (re)allocated only when the camera's size changed, every other frame overwrites it in place. */
    render(video) {
      gl.bindTexture(gl.TEXTURE_2D, texture);
      if (video.videoWidth !== width || video.videoHeight !== height) {
        width = video.videoWidth;
        height = video.videoHeight;
        gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, width, height, 0, gl.RGBA, gl.UNSIGNED_BYTE, null);
      }
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, gl.RGBA, gl.UNSIGNED_BYTE, video);
      return texture;
    },
    cleanUp() {
      gl.deleteTexture(texture);
    },
  };
}
