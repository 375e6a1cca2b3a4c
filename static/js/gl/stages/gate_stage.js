/** Measure how much the picture changed inside the last mask's edge band since that mask's frame.
 * The GPU summarises blocks; JS adds up a few hundred block values, not the pixels. */
import gateFragment from '../shaders/gate.frag.js';
import { createPass } from '../pass.js';
import { bindTexture, createRenderTarget } from '../render_target.js';

const BLOCK_PX = 4; // model pixels per block side
// A luma step of 0.06 (~15 of 255 levels) is well above sensor noise and video compression.
export const PIXEL_CHANGE_THRESHOLD = 0.06;

export function buildGateStage(context, { width, height }) {
  const { gl } = context;
  const pass = createPass(context, gateFragment, { BLOCK: BLOCK_PX });
  const target = createRenderTarget(gl, Math.ceil(width / BLOCK_PX), Math.ceil(height / BLOCK_PX), 'rgba8', gl.NEAREST);
  const blocks = new Uint8Array(target.width * target.height * 4);
  const result = { changedInBand: 0, bandArea: 0 };

  return {
    /** Compare `current` with `segmented` (the mask's frame) inside `band`; returns a reused
     * {changedInBand, bandArea} in model pixels. */
    render(current, segmented, band) {
      pass.use();
      bindTexture(gl, pass.uniforms.u_current, current, 0);
      bindTexture(gl, pass.uniforms.u_segmented, segmented, 1);
      bindTexture(gl, pass.uniforms.u_band, band, 2);
      gl.uniform1f(pass.uniforms.u_pixelThreshold, PIXEL_CHANGE_THRESHOLD);
      pass.draw(target);
      gl.readPixels(0, 0, target.width, target.height, gl.RGBA, gl.UNSIGNED_BYTE, blocks);
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      let changed = 0;
      let area = 0;
      for (let i = 0; i < blocks.length; i += 4) {
        changed += blocks[i];
        area += blocks[i + 1];
      }
      // Each byte is a fraction of a block (0..255): convert back to pixels.
      const pixelsPerUnit = (BLOCK_PX * BLOCK_PX) / 255;
      result.changedInBand = changed * pixelsPerUnit;
      result.bandArea = area * pixelsPerUnit;
      return result;
    },
    cleanUp() {
      pass.cleanUp();
      target.cleanUp();
    },
  };
}
