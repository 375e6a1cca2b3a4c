/** Compile and link shader programs; errors throw with the driver's info log. */

function compile(gl, type, source, defines) {
  const shader = gl.createShader(type);
  // `#version` must stay the first line, so defines go right after it.
  const [version, ...rest] = source.split('\n');
  const prelude = Object.entries(defines).map(([name, value]) => `#define ${name} ${value}`);
  gl.shaderSource(shader, [version, ...prelude, ...rest].join('\n'));
  gl.compileShader(shader);
  if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
    const log = gl.getShaderInfoLog(shader);
    gl.deleteShader(shader);
    const kind = type === gl.VERTEX_SHADER ? 'vertex' : 'fragment';
    throw new Error(`The ${kind} shader did not compile: ${log}`);
  }
  return shader;
}

/**
 * Build a program and discover its uniforms once.
 * @returns {{program: WebGLProgram, uniforms: Record<string, WebGLUniformLocation>, attributes: Record<string, number>, cleanUp(): void}}
 */
export function createProgram(gl, vertexSource, fragmentSource, defines = {}) {
  const vertex = compile(gl, gl.VERTEX_SHADER, vertexSource, defines);
  const fragment = compile(gl, gl.FRAGMENT_SHADER, fragmentSource, defines);
  const program = gl.createProgram();
  gl.attachShader(program, vertex);
  gl.attachShader(program, fragment);
  gl.linkProgram(program);
  gl.deleteShader(vertex);
  gl.deleteShader(fragment);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) {
    const log = gl.getProgramInfoLog(program);
    gl.deleteProgram(program);
    throw new Error(`The shader program did not link: ${log}`);
  }
  const uniforms = {};
  const uniformCount = gl.getProgramParameter(program, gl.ACTIVE_UNIFORMS);
  for (let i = 0; i < uniformCount; i += 1) {
    const { name } = gl.getActiveUniform(program, i);
    uniforms[name.replace(/\[0\]$/, '')] = gl.getUniformLocation(program, name);
  }
  const attributes = {};
  const attributeCount = gl.getProgramParameter(program, gl.ACTIVE_ATTRIBUTES);
  for (let i = 0; i < attributeCount; i += 1) {
    const { name } = gl.getActiveAttrib(program, i);
    attributes[name] = gl.getAttribLocation(program, name);
  }
  return { program, uniforms, attributes, cleanUp: () => gl.deleteProgram(program) };
}
