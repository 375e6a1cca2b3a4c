/** Upload each camera frame into one texture, reallocated only when the camera's size changes. */

export function buildCameraStage({ gl }) {
  const texture = gl.createTexture();
  let width = 0;
  let height = 0;
  gl.bindTexture(gl.TEXTURE_2D, texture);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);

  return {
    texture,
    get width() { return width; },
    get height() { return height; },
    /** Copy the video's current frame into the texture. */
    update(video) {
      gl.bindTexture(gl.TEXTURE_2D, texture);
      if (video.videoWidth !== width || video.videoHeight !== height) {
        width = video.videoWidth;
        height = video.videoHeight;
        gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, video);
      } else {
        gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, gl.RGBA, gl.UNSIGNED_BYTE, video);
      }
    },
    cleanUp() {
      gl.deleteTexture(texture);
    },
  };
}
