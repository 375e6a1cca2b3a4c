/** Background blur at reduced resolution in two separable passes, weighted by (1 - mask) so the
 * person never smears into the room. The blur reads the anti-aliased model-size frame: at these
 * radii detail finer than it is blurred away anyway. */
import blurFragment from '../shaders/blur.frag.js';
import { createPass } from '../pass.js';
import { bindTexture, createRenderTarget } from '../render_target.js';

const TAPS_EACH_SIDE = 6; // 13 taps per direction
const SIGMA_TAPS = 2; // taps span +-3 sigma
// Blur strengths: the size of the blur target relative to the model-size frame, and the distance
// between taps in that target's texels. Sigma in camera pixels (at 640 wide, model 256 wide) =
// SIGMA_TAPS * stepTexels * 2.5 / scale: light 5, strong 12.5, privacy 30. Light and strong run at
// the smallest target where the taps still cover every model-size texel (step <= 1 source texel for
// light): software GL pays per pixel, and the 256x144 light blur was a third of a frame's GPU time.
export const BLUR_LEVELS = Object.freeze({
  light: { scale: 0.5, stepTexels: 0.5 },
  strong: { scale: 0.25, stepTexels: 0.625 },
  // Fail-closed blur: nobody is recognisable through it.
  privacy: { scale: 0.25, stepTexels: 1.5 },
});

export function buildBlurStage(context, { width, height }) {
  const { gl } = context;
  const firstMasked = createPass(context, blurFragment, { BLUR_TAPS: TAPS_EACH_SIDE, FIRST_PASS: 1, USE_MASK: 1 });
  const firstUnmasked = createPass(context, blurFragment, { BLUR_TAPS: TAPS_EACH_SIDE, FIRST_PASS: 1 });
  const second = createPass(context, blurFragment, { BLUR_TAPS: TAPS_EACH_SIDE });
  const targets = {};
  for (const [name, level] of Object.entries(BLUR_LEVELS)) {
    const w = Math.max(8, Math.round(width * level.scale));
    const h = Math.max(8, Math.round(height * level.scale));
    targets[name] = [createRenderTarget(gl, w, h, 'rgba16f'), createRenderTarget(gl, w, h, 'rgba16f')];
  }
  // Gaussian weights of taps 0..TAPS_EACH_SIDE, normalised so all 2*TAPS+1 taps sum to 1.
  const weights = new Float32Array(TAPS_EACH_SIDE + 1);
  for (let i = 0; i <= TAPS_EACH_SIDE; i += 1) weights[i] = Math.exp(-(i * i) / (2 * SIGMA_TAPS * SIGMA_TAPS));
  const total = weights.reduce((sum, weight, i) => sum + (i === 0 ? weight : 2 * weight), 0);
  for (let i = 0; i <= TAPS_EACH_SIDE; i += 1) weights[i] /= total;

  function run(pass, source, mask, target, stepX, stepY) {
    pass.use();
    bindTexture(gl, pass.uniforms.u_source, source, 0);
    if (pass.uniforms.u_mask) bindTexture(gl, pass.uniforms.u_mask, mask, 1);
    gl.uniform2f(pass.uniforms.u_step, stepX, stepY);
    gl.uniform1fv(pass.uniforms.u_weights, weights);
    pass.draw(target);
  }

  return {
    /** Blur `frame` at `level`; with `mask` null everything is background. Returns the texture. */
    render(frame, mask, level) {
      const { stepTexels } = BLUR_LEVELS[level];
      const [horizontal, vertical] = targets[level];
      run(mask ? firstMasked : firstUnmasked, frame, mask, horizontal, stepTexels / horizontal.width, 0);
      run(second, horizontal.texture, null, vertical, 0, stepTexels / vertical.height);
      return vertical.texture;
    },
    cleanUp() {
      for (const pass of [firstMasked, firstUnmasked, second]) pass.cleanUp();
      for (const pair of Object.values(targets)) for (const target of pair) target.cleanUp();
    },
  };
}
