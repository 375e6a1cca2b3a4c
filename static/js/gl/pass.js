/** A full-screen shader pass: one program, its uniforms, drawn over the shared quad. */
import fullscreenVertex from './shaders/fullscreen.vert.js';
import { createProgram } from './program.js';

/** Compile `fragmentSource` with `defines`; returns {program, uniforms, draw(target|null), cleanUp}. */
export function createPass({ gl, quad }, fragmentSource, defines = {}) {
  const compiled = createProgram(gl, fullscreenVertex, fragmentSource, defines);
  // Each program gets its own vertex array binding of the shared quad buffer.
  quad.attach(compiled.attributes.a_position);
  return {
    program: compiled.program,
    uniforms: compiled.uniforms,
    /** Make this pass current; set uniforms after this. */
    use() {
      gl.useProgram(compiled.program);
    },
    /** Draw into `target` (a render target), or the canvas when null. */
    draw(target) {
      if (target) target.bind();
      else {
        gl.bindFramebuffer(gl.FRAMEBUFFER, null);
        gl.viewport(0, 0, gl.drawingBufferWidth, gl.drawingBufferHeight);
      }
      quad.draw();
    },
    cleanUp: compiled.cleanUp,
  };
}
