/** Motion inside the mask's edge band: each output texel summarises a BLOCK x BLOCK block of the
 * model-size frames. R = fraction of the block that is band AND changed, G = fraction that is band. */
export default /* glsl */ `#version 300 es
precision mediump float;
uniform sampler2D u_current;   // this frame at model size
uniform sampler2D u_segmented; // the frame the current mask was computed from
uniform sampler2D u_band;      // 1 inside the edge band
uniform float u_pixelThreshold; // luma difference (0..1) that counts as a change, above sensor noise
out vec4 outValue;

const vec3 LUMA = vec3(0.299, 0.587, 0.114); // BT.601

void main() {
  ivec2 origin = ivec2(gl_FragCoord.xy) * BLOCK;
  float changed = 0.0;
  float band = 0.0;
  for (int y = 0; y < BLOCK; y++) {
    for (int x = 0; x < BLOCK; x++) {
      ivec2 at = origin + ivec2(x, y);
      float inBand = texelFetch(u_band, at, 0).r;
      float difference = abs(dot(texelFetch(u_current, at, 0).rgb - texelFetch(u_segmented, at, 0).rgb, LUMA));
      changed += inBand * step(u_pixelThreshold, difference);
      band += inBand;
    }
  }
  float area = float(BLOCK * BLOCK);
  outValue = vec4(changed / area, band / area, 0.0, 1.0);
}
`;
