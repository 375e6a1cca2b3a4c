/** The segmenter's latest mask as a texture, the model-size frame it was computed from (what the
 * motion gate and the deadline path compare later frames with), and its edge band (dilate minus
 * erode) for the gate. */
import bandFragment from '../shaders/band.frag.js';
import { createPass } from '../pass.js';
import { bindTexture, createRenderTarget, createTexture } from '../render_target.js';

// Half-width of the band in model pixels: ~4% of the width each side of the edge catches a
// shoulder or head moving by a few camera pixels, while mouth and eyes stay outside it.
const BAND_RADIUS_PX = 5;

export function buildMaskStage(context, { width, height }) {
  const { gl } = context;
  const texture = createTexture(gl);
  gl.bindTexture(gl.TEXTURE_2D, texture);
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.R16F, width, height, 0, gl.RED, gl.HALF_FLOAT, null);
  const rows = createRenderTarget(gl, width, height, 'rg8', gl.NEAREST);
  const band = createRenderTarget(gl, width, height, 'r8', gl.NEAREST);
  const segmented = createRenderTarget(gl, width, height, 'rgba8');
  const horizontal = createPass(context, bandFragment, { BAND_RADIUS: BAND_RADIUS_PX, HORIZONTAL: 1 });
  const vertical = createPass(context, bandFragment, { BAND_RADIUS: BAND_RADIUS_PX });

  const output = Object.freeze({ mask: texture, segmented: segmented.texture, band: band.texture });

  return {
    /** Upload a person-probability mask (Float32Array, W*H, row 0 = image top) computed from the
     * model-size frame `source` (a render target), and update the band. Returns the textures
     * {mask, segmented: the frame it describes, band: its edge band}, the same object every time. */
    render(mask, source) {
      gl.bindFramebuffer(gl.READ_FRAMEBUFFER, source.framebuffer);
      gl.bindFramebuffer(gl.DRAW_FRAMEBUFFER, segmented.framebuffer);
      gl.blitFramebuffer(0, 0, width, height, 0, 0, width, height, gl.COLOR_BUFFER_BIT, gl.NEAREST);
      gl.bindFramebuffer(gl.READ_FRAMEBUFFER, null);
      gl.bindFramebuffer(gl.DRAW_FRAMEBUFFER, null);
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, width, height, gl.RED, gl.FLOAT, mask);
      horizontal.use();
      bindTexture(gl, horizontal.uniforms.u_source, texture, 0);
      horizontal.draw(rows);
      vertical.use();
      bindTexture(gl, vertical.uniforms.u_source, rows.texture, 0);
      vertical.draw(band);
      return output;
    },
    cleanUp() {
      gl.deleteTexture(texture);
      rows.cleanUp();
      band.cleanUp();
      segmented.cleanUp();
      horizontal.cleanUp();
      vertical.cleanUp();
    },
  };
}
