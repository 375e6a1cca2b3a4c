/** One direction of a separable Gaussian blur of the background, weighted by (1 - mask) so the
 * person's colours never bleed into the blurred room (no halo). Output: rgb = weighted colour sum,
 * a = weight sum; the composite divides. FIRST_PASS reads the camera and the mask; the second pass
 * reads the first pass's sums. Without USE_MASK everything is background (the privacy blur). */
export default /* glsl */ `#version 300 es
precision highp float;
uniform sampler2D u_source;   // FIRST_PASS: camera frame; else: first pass output (rgb sum, weight)
uniform sampler2D u_mask;     // refined person probability
uniform vec2 u_step;          // uv distance between taps along the blur direction
uniform float u_weights[BLUR_TAPS + 1]; // Gaussian weight of tap |i|, normalised over all taps
in vec2 v_uv;
out vec4 outValue;

void main() {
  vec4 sum = vec4(0.0);
  for (int i = -BLUR_TAPS; i <= BLUR_TAPS; i++) {
    // Weights come from a uniform: an exp() per tap per pixel costs more than the fetch in software GL.
    float weight = u_weights[i < 0 ? -i : i];
    vec2 at = v_uv + float(i) * u_step;
#ifdef FIRST_PASS
#ifdef USE_MASK
    float background = 1.0 - texture(u_mask, at).r;
#else
    float background = 1.0;
#endif
    sum += weight * vec4(texture(u_source, at).rgb * background, background);
#else
    sum += weight * texture(u_source, at);
#endif
  }
  outValue = sum;
}
`;
