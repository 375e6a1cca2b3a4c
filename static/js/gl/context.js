/** The shared WebGL2 context every stage receives: `{gl, quad}`. */
import { UserError } from '../user_error.js';

const NO_WEBGL2 = 'This browser cannot draw with WebGL2, which the virtual background needs. '
  + 'Turn on hardware acceleration in the browser settings, or use a current Chrome, Edge, Firefox or Safari.';
const FLOAT_TARGETS_MISSING = 'This browser\'s WebGL2 cannot render into float textures (EXT_color_buffer_float), '
  + 'which the virtual background needs. Update the browser or its graphics driver, or turn on hardware acceleration.';

export class GraphicsUnavailableError extends UserError {
  constructor(advice = NO_WEBGL2) {
    super('This browser cannot draw the virtual background.', advice);
  }
}

// Two triangles covering clip space, drawn as a strip.
const QUAD_VERTICES = new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]);

/** Create the context and the one quad buffer all full-screen passes share; `transparent` keeps
 * the canvas's alpha channel (the page behind shows where the picture's alpha is below 1). */
export function createGraphicsContext(canvas, { transparent = false } = {}) {
  const gl = canvas.getContext('webgl2', {
    alpha: transparent,
    antialias: false,
    depth: false,
    stencil: false,
    premultipliedAlpha: false,
    // The output canvas feeds captureStream and screenshots; no need to keep old frames around.
    preserveDrawingBuffer: false,
    desynchronized: true,
  });
  if (!gl) throw new GraphicsUnavailableError();
  // Masks, blur and preprocessing render into half and full float textures: every stage needs this.
  if (!gl.getExtension('EXT_color_buffer_float')) throw new GraphicsUnavailableError(FLOAT_TARGETS_MISSING);
  const vertexArray = gl.createVertexArray();
  const buffer = gl.createBuffer();
  gl.bindVertexArray(vertexArray);
  gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
  gl.bufferData(gl.ARRAY_BUFFER, QUAD_VERTICES, gl.STATIC_DRAW);
  gl.bindVertexArray(null);

  const quad = {
    /** Bind the quad to a program's position attribute (call once per program). */
    attach(positionLocation) {
      gl.bindVertexArray(vertexArray);
      gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
      gl.enableVertexAttribArray(positionLocation);
      gl.vertexAttribPointer(positionLocation, 2, gl.FLOAT, false, 0, 0);
      gl.bindVertexArray(null);
    },
    draw() {
      gl.bindVertexArray(vertexArray);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
      gl.bindVertexArray(null);
    },
  };
  return {
    gl,
    quad,
    cleanUp() {
      gl.deleteBuffer(buffer);
      gl.deleteVertexArray(vertexArray);
    },
  };
}
