/** The camera frame at the model's input size, for inference, the motion gate, the mask guide and
 * the background blur: an anti-aliased copy into the frame ring slot's small target. */
import downscaleFragment from '../shaders/downscale.frag.js';
import { createPass } from '../pass.js';
import { bindTexture } from '../render_target.js';

export function buildDownscaleStage(context, { width, height }) {
  const { gl } = context;
  const pass = createPass(context, downscaleFragment);

  return {
    /** Render `cameraTexture` at model size into `target` (a render target of that size); returns its texture. */
    render(cameraTexture, target) {
      pass.use();
      bindTexture(gl, pass.uniforms.u_camera, cameraTexture, 0);
      gl.uniform2f(pass.uniforms.u_tapOffset, 0.25 / width, 0.25 / height);
      pass.draw(target);
      return target.texture;
    },
    cleanUp() {
      pass.cleanUp();
    },
  };
}
