/** A full-screen quad. Offscreen targets keep the image's top row at texel row 0 (as uploaded);
 * the pass to the canvas (`TO_SCREEN`) flips, because the canvas shows row 0 at the bottom. */
export default /* glsl */ `#version 300 es
in vec2 a_position; // clip space, (-1,-1) = texel row 0, column 0
out vec2 v_uv;      // texture space, (0,0) = first uploaded row (the image top)

void main() {
  v_uv = a_position * 0.5 + 0.5;
#ifdef TO_SCREEN
  v_uv.y = 1.0 - v_uv.y;
#endif
  gl_Position = vec4(a_position, 0.0, 1.0);
}
`;
