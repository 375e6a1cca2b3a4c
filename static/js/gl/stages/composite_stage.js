/** Draw the outgoing picture onto the canvas: person, background, feathered edge, light wrap. */
import compositeFragment from '../shaders/composite.frag.js';
import { createPass } from '../pass.js';
import { bindTexture, createRenderTarget } from '../render_target.js';

export const BACKGROUND_MODES = Object.freeze({ blur: 0, image: 1, colour: 2 });
// The probability range over which the edge fades: a narrow ramp around 0.5 keeps the edge crisp
// while hiding the mask's quantisation steps.
const FEATHER = [0.35, 0.65];
const LIGHT_WRAP = 0.25; // 0..1, fraction of background colour spilled onto the rim

export function buildCompositeStage(context) {
  const { gl } = context;
  const pass = createPass(context, compositeFragment, { TO_SCREEN: 1 });
  let alphaPass = null; // benchmark probe only: built on first use
  let alphaTarget = null;

  function draw(program, inputs, target) {
    program.use();
    const { uniforms } = program;
    bindTexture(gl, uniforms.u_camera, inputs.camera, 0);
    bindTexture(gl, uniforms.u_mask, inputs.mask, 1);
    bindTexture(gl, uniforms.u_blur, inputs.blur, 2);
    bindTexture(gl, uniforms.u_image, inputs.image, 3);
    gl.uniform1i(uniforms.u_mode, inputs.mode);
    gl.uniform3f(uniforms.u_colour, inputs.colour[0], inputs.colour[1], inputs.colour[2]);
    const t = inputs.imageTransform;
    gl.uniform4f(uniforms.u_imageTransform, t[0], t[1], t[2], t[3]);
    gl.uniform1f(uniforms.u_personVisible, inputs.personVisible ? 1 : 0);
    gl.uniform2f(uniforms.u_feather, FEATHER[0], FEATHER[1]);
    gl.uniform1f(uniforms.u_lightWrap, LIGHT_WRAP);
    program.draw(target);
  }

  return {
    /**
     * @param {{camera, mask, blur, image, mode: number, colour: number[], imageTransform: number[], personVisible: boolean}} inputs
     */
    render(inputs) {
      draw(pass, inputs, null);
    },
    /** Benchmark probe: the composite's alpha for the same inputs, at width x height, into `into`
     * (Uint8Array of 4*W*H, RGBA: the alpha is in R; RGBA is the read format every WebGL2 supports). */
    readAlpha(inputs, into, width, height) {
      alphaPass ??= createPass(context, compositeFragment, { ALPHA_ONLY: 1 });
      alphaTarget ??= createRenderTarget(gl, width, height, 'rgba8', gl.NEAREST);
      draw(alphaPass, inputs, alphaTarget);
      gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, into);
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    },
    cleanUp() {
      pass.cleanUp();
      alphaPass?.cleanUp();
      alphaTarget?.cleanUp();
    },
  };
}
