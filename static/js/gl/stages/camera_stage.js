/** Upload each camera frame into one texture, reallocated only when the camera's size changes. */
import { createTexture } from '../render_target.js';

export function buildCameraStage({ gl }) {
  const texture = createTexture(gl);
  const stage = {
    texture,
    width: 0,
    height: 0,
    /** Copy the video's current frame into the texture. */
    update(video) {
      gl.bindTexture(gl.TEXTURE_2D, texture);
      if (video.videoWidth !== stage.width || video.videoHeight !== stage.height) {
        stage.width = video.videoWidth;
        stage.height = video.videoHeight;
        gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, video);
      } else {
        gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, gl.RGBA, gl.UNSIGNED_BYTE, video);
      }
    },
    cleanUp() {
      gl.deleteTexture(texture);
    },
  };
  return stage;
}
