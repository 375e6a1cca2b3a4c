/** A full-screen quad; texture coordinates put the image's top row at the top of the canvas. */
export default /* glsl */ `#version 300 es
in vec2 a_position; // clip space, (-1,-1) bottom-left
out vec2 v_uv;      // texture space, (0,0) = first uploaded row (the image top)

void main() {
  v_uv = vec2(a_position.x * 0.5 + 0.5, 0.5 - a_position.y * 0.5);
  gl_Position = vec4(a_position, 0.0, 1.0);
}
`;
