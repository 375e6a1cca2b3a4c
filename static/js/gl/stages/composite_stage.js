/** Draw the outgoing picture onto the canvas: person, background, feathered edge, light wrap. */
import compositeFragment from '../shaders/composite.frag.js';
import { createPass } from '../pass.js';
import { bindTexture } from '../render_target.js';

// transparent: the canvas's alpha is the person's (a context made with `transparent`, gl/context.js);
// the output view's OBS mode.
export const BACKGROUND_MODES = Object.freeze({ blur: 0, image: 1, colour: 2, transparent: 3 });
// The probability range over which the edge fades: a narrow ramp around 0.5 keeps the edge crisp
// while hiding the mask's quantisation steps.
const FEATHER = [0.35, 0.65];
const LIGHT_WRAP = 0.25; // 0..1, fraction of background colour spilled onto the rim

/**
 * Draw the composite shader `pass` (this stage's, or a variant such as composite_alpha_stage.js's)
 * into `target` (null: the canvas).
 * @param {{camera, mask, blur, image, mode: number, colour: number[], imageTransform: number[], personVisible: boolean}} inputs
 */
export function drawComposite(gl, pass, inputs, target) {
  pass.use();
  const { uniforms } = pass;
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
  pass.draw(target);
}

/** `transparent`: compile the variant with the transparent mode (the output view's canvas with alpha). */
export function buildCompositeStage(context, { transparent = false } = {}) {
  const pass = createPass(context, compositeFragment, transparent ? { TO_SCREEN: 1, TRANSPARENT: 1 } : { TO_SCREEN: 1 });

  return {
    /** Draw the picture for `inputs` (see drawComposite) onto the canvas, the end of the pipeline: returns nothing. */
    render(inputs) {
      drawComposite(context.gl, pass, inputs, null);
    },
    cleanUp() {
      pass.cleanUp();
    },
  };
}
