/** Draw the outgoing picture onto the canvas: person, background, feathered edge, light wrap. */
import compositeFragment from '../shaders/composite.frag.js';
import { createPass } from '../pass.js';
import { bindTexture } from '../render_target.js';

export const BACKGROUND_MODES = Object.freeze({ blur: 0, image: 1, colour: 2 });
// The probability range over which the edge fades: a narrow ramp around 0.5 keeps the edge crisp
// while hiding the mask's quantisation steps.
const FEATHER = [0.35, 0.65];
const LIGHT_WRAP = 0.25; // 0..1, fraction of background colour spilled onto the rim

export function buildCompositeStage(context) {
  const { gl } = context;
  const pass = createPass(context, compositeFragment, { TO_SCREEN: 1 });

  return {
    /**
     * @param {{camera, mask, blur, image, mode: number, colour: number[], imageTransform: number[], personVisible: boolean}} inputs
     */
    render(inputs) {
      pass.use();
      bindTexture(gl, pass.uniforms.u_camera, inputs.camera, 0);
      bindTexture(gl, pass.uniforms.u_mask, inputs.mask, 1);
      bindTexture(gl, pass.uniforms.u_blur, inputs.blur, 2);
      bindTexture(gl, pass.uniforms.u_image, inputs.image, 3);
      gl.uniform1i(pass.uniforms.u_mode, inputs.mode);
      gl.uniform3f(pass.uniforms.u_colour, inputs.colour[0], inputs.colour[1], inputs.colour[2]);
      const t = inputs.imageTransform;
      gl.uniform4f(pass.uniforms.u_imageTransform, t[0], t[1], t[2], t[3]);
      gl.uniform1f(pass.uniforms.u_personVisible, inputs.personVisible ? 1 : 0);
      gl.uniform2f(pass.uniforms.u_feather, FEATHER[0], FEATHER[1]);
      gl.uniform1f(pass.uniforms.u_lightWrap, LIGHT_WRAP);
      pass.draw(null);
    },
    cleanUp() {
      pass.cleanUp();
    },
  };
}
