/** The edge band of a mask, dilate minus erode, in two separable passes (max/min filters).
 * HORIZONTAL: mask -> (row max, row min) of the binary mask; otherwise: -> column max - column min. */
export default /* glsl */ `#version 300 es
precision mediump float;
uniform sampler2D u_source;
in vec2 v_uv;
out vec4 outValue;

void main() {
  ivec2 size = textureSize(u_source, 0);
  ivec2 centre = ivec2(v_uv * vec2(size));
  float high = 0.0;
  float low = 1.0;
  for (int i = -BAND_RADIUS; i <= BAND_RADIUS; i++) {
#ifdef HORIZONTAL
    ivec2 at = ivec2(clamp(centre.x + i, 0, size.x - 1), centre.y);
    float inside = step(0.5, texelFetch(u_source, at, 0).r);
    high = max(high, inside);
    low = min(low, inside);
#else
    ivec2 at = ivec2(centre.x, clamp(centre.y + i, 0, size.y - 1));
    vec2 rowExtremes = texelFetch(u_source, at, 0).rg;
    high = max(high, rowExtremes.r);
    low = min(low, rowExtremes.g);
#endif
  }
#ifdef HORIZONTAL
  outValue = vec4(high, low, 0.0, 1.0);
#else
  outValue = vec4(high - low, 0.0, 0.0, 1.0);
#endif
}
`;
