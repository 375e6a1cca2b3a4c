/** Upsample the model's mask to the internal resolution along the frame's real edges, with
 * motion-aware temporal smoothing (see refine.frag.js). Ping-pongs two targets. */
import refineFragment from '../shaders/refine.frag.js';
import { createPass } from '../pass.js';
import { bindTexture, createRenderTarget } from '../render_target.js';

// Colour distance scale of the bilateral weights: sigma_r = 0.1 of full range separates a face from
// a wall of similar brightness but keeps a shaded cheek with the lit one.
const RANGE_SIGMA = 0.1;
// Where nothing moves, 70% of the previous mask carries over: edges settle over ~3 frames.
const TEMPORAL_KEEP = 0.7;
// Smoothing never raises a pixel's person probability by more than this over this frame's mask:
// 0.15 keeps a background pixel (mask < 0.2) below the feather's start (0.35, composite_stage.js), so
// the room never shows through smoothing, while edge pixels hovering around 0.5 still settle.
const TEMPORAL_RAISE_LIMIT = 0.15;
// Luma change per frame (0..1) from which smoothing fades out: below 0.02 is sensor noise, above
// 0.08 the person moved and the new mask must win at once.
const MOTION_RANGE = [0.02, 0.08];
// Deadline path: a luma step of 0.04 (~10 of 255 levels) counts as a change. Lower than the motion
// gate's 0.06: here a missed change shows the raw room, a false one only hides a few person pixels
// for one frame.
export const DISTRUST_CHANGE_THRESHOLD = 0.04;
// Model texels around a changed one that are distrusted too (2 = 5 camera pixels at 640 wide): the
// model-size comparison misses changes thinner than a texel.
const DISTRUST_RADIUS = 2;

export function buildRefineStage(context) {
  const { gl } = context;
  // JBU radius -> {normal, distrust} passes, built on first use of a quality tier: both at once, so
  // the deadline path never compiles a program mid-run. Variants, not a uniform branch: software GL
  // runs both sides of a branch.
  const passes = new Map();
  let output = createRenderTarget(gl, 1, 1, 'r16f');
  let previous = createRenderTarget(gl, 1, 1, 'r16f');
  let hasPrevious = 0;

  function passFor(radius) {
    if (!passes.has(radius)) {
      passes.set(radius, {
        normal: createPass(context, refineFragment, { JBU_RADIUS: radius }),
        distrust: createPass(context, refineFragment, { JBU_RADIUS: radius, DISTRUST: 1, DISTRUST_RADIUS }),
      });
    }
    return passes.get(radius);
  }

  return {
    /** Refine `mask` at width x height with a (2r+1)^2 bilateral kernel and return the refined
     * mask's texture. `distrustChange`: the deadline path (see refine.frag.js), comparing
     * `guideSmall` with `segmentedSmall`; `continuesHistory` false (new camera, new mask source)
     * forgets the previous mask, so nothing from before carries over. */
    render({ mask, guideSmall, previousSmall, segmentedSmall, camera, maskWidth, maskHeight, distrustChange, continuesHistory },
      { width, height, jbuRadius }) {
      [output, previous] = [previous, output];
      if (!continuesHistory) hasPrevious = 0;
      if (output.width !== width || output.height !== height) {
        output.resize(width, height);
        previous.resize(width, height);
        hasPrevious = 0;
      }
      const variants = passFor(jbuRadius);
      const pass = distrustChange ? variants.distrust : variants.normal;
      pass.use();
      bindTexture(gl, pass.uniforms.u_mask, mask, 0);
      bindTexture(gl, pass.uniforms.u_guideSmall, guideSmall, 1);
      bindTexture(gl, pass.uniforms.u_previousSmall, previousSmall, 2);
      bindTexture(gl, pass.uniforms.u_camera, camera, 3);
      bindTexture(gl, pass.uniforms.u_previousMask, previous.texture, 4);
      if (distrustChange) bindTexture(gl, pass.uniforms.u_segmentedSmall, segmentedSmall, 5);
      if (distrustChange) gl.uniform1f(pass.uniforms.u_changeThreshold, DISTRUST_CHANGE_THRESHOLD);
      gl.uniform2f(pass.uniforms.u_maskTexel, 1 / maskWidth, 1 / maskHeight);
      gl.uniform1f(pass.uniforms.u_rangeFalloff, 1 / (2 * RANGE_SIGMA * RANGE_SIGMA));
      gl.uniform1f(pass.uniforms.u_temporalKeep, TEMPORAL_KEEP);
      gl.uniform1f(pass.uniforms.u_temporalRaiseLimit, TEMPORAL_RAISE_LIMIT);
      gl.uniform2f(pass.uniforms.u_motionRange, MOTION_RANGE[0], MOTION_RANGE[1]);
      gl.uniform1f(pass.uniforms.u_hasPrevious, hasPrevious);
      pass.draw(output);
      hasPrevious = 1;
      return output.texture;
    },
    cleanUp() {
      for (const { normal, distrust } of passes.values()) {
        normal.cleanUp();
        distrust.cleanUp();
      }
      output.cleanUp();
      previous.cleanUp();
    },
  };
}
