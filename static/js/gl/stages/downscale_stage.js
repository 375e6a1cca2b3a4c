/** The camera frame at the model's input size, for inference, the motion gate, the mask guide and
 * the background blur. Keeps this frame, the previous one, and the one last sent to the segmenter. */
import downscaleFragment from '../shaders/downscale.frag.js';
import { createPass } from '../pass.js';
import { bindTexture, createRenderTarget } from '../render_target.js';

export function buildDownscaleStage(context, { width, height }) {
  const { gl } = context;
  const pass = createPass(context, downscaleFragment);
  let current = createRenderTarget(gl, width, height, 'rgba8');
  let previous = createRenderTarget(gl, width, height, 'rgba8');
  const segmented = createRenderTarget(gl, width, height, 'rgba8');

  return {
    get current() { return current; },
    get previous() { return previous; },
    segmented,
    /** Render this camera frame; the old current becomes previous (a swap, no copy). */
    render(cameraTexture) {
      [current, previous] = [previous, current];
      pass.use();
      bindTexture(gl, pass.uniforms.u_camera, cameraTexture, 0);
      gl.uniform2f(pass.uniforms.u_tapOffset, 0.25 / width, 0.25 / height);
      pass.draw(current);
    },
    /** Remember the current frame as the one the next mask will describe. */
    markSegmented() {
      gl.bindFramebuffer(gl.READ_FRAMEBUFFER, current.framebuffer);
      gl.bindFramebuffer(gl.DRAW_FRAMEBUFFER, segmented.framebuffer);
      gl.blitFramebuffer(0, 0, width, height, 0, 0, width, height, gl.COLOR_BUFFER_BIT, gl.NEAREST);
      gl.bindFramebuffer(gl.READ_FRAMEBUFFER, null);
      gl.bindFramebuffer(gl.DRAW_FRAMEBUFFER, null);
    },
    cleanUp() {
      pass.cleanUp();
      current.cleanUp();
      previous.cleanUp();
      segmented.cleanUp();
    },
  };
}
