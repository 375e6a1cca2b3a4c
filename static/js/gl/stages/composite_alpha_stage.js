/** Benchmark probe only: the composite's alpha (the share of each pixel that is camera) for the
 * same inputs as composite_stage.js, read back at the model's size. */
import compositeFragment from '../shaders/composite.frag.js';
import { createPass } from '../pass.js';
import { createRenderTarget } from '../render_target.js';
import { drawComposite } from './composite_stage.js';

export function buildCompositeAlphaStage(context, { width, height }) {
  const { gl } = context;
  const pass = createPass(context, compositeFragment, { ALPHA_ONLY: 1 });
  const target = createRenderTarget(gl, width, height, 'rgba8', gl.NEAREST);

  return {
    /** Draw the alpha for `inputs` and read it into `into` (Uint8Array of 4*W*H, RGBA: the alpha is
     * in R; RGBA is the read format every WebGL2 supports); returns `into`. */
    render(inputs, into) {
      drawComposite(gl, pass, inputs, target);
      gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, into);
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      return into;
    },
    cleanUp() {
      pass.cleanUp();
      target.cleanUp();
    },
  };
}
