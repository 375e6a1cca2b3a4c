/** Draw a texture onto the canvas (the last stage; later stages composite before it). */
import fullscreenVertex from '../shaders/fullscreen.vert.js';
import copyFragment from '../shaders/copy.frag.js';
import { createProgram } from '../program.js';

export function buildOutputStage({ gl, quad }) {
  const { program, uniforms, attributes, cleanUp: deleteProgram } = createProgram(gl, fullscreenVertex, copyFragment);
  quad.attach(attributes.a_position);

  return {
    /** Draw `texture` over the whole drawing buffer. */
    render(texture) {
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      gl.viewport(0, 0, gl.drawingBufferWidth, gl.drawingBufferHeight);
      gl.useProgram(program);
      gl.activeTexture(gl.TEXTURE0);
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.uniform1i(uniforms.u_image, 0);
      quad.draw();
    },
    cleanUp() {
      deleteProgram();
    },
  };
}
