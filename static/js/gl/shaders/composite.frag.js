/** The outgoing picture: the person over the chosen background, with a feathered edge and light
 * wrap (the background's light spilling a little over the person's rim, as in a real shot). */
export default /* glsl */ `#version 300 es
precision highp float;
uniform sampler2D u_camera;
uniform sampler2D u_mask;        // refined person probability
uniform sampler2D u_blur;        // blur stage output: rgb = weighted colour sum, a = background weight
uniform sampler2D u_image;       // background picture (MODE_IMAGE)
uniform int u_mode;              // 0 blur, 1 image, 2 colour, 3 transparent (alpha 0 where the background is;
                                 // only in the TRANSPARENT variant: software GL pays for every branch)
uniform vec3 u_colour;           // MODE_COLOUR background, linear 0..1 sRGB values
uniform vec4 u_imageTransform;   // cover-fit: uv_image = v_uv * xy + zw
uniform float u_personVisible;   // 0 = fail closed: the whole frame is background (blurred)
uniform vec2 u_feather;          // smoothstep range on the probability: the edge's softness
uniform float u_lightWrap;       // 0..1 strength of the spill
in vec2 v_uv;
out vec4 outColor;

void main() {
  vec3 person = texture(u_camera, v_uv).rgb;
  vec4 blurSums = texture(u_blur, v_uv);
  vec3 background;
  if (u_mode == 1) {
    background = texture(u_image, v_uv * u_imageTransform.xy + u_imageTransform.zw).rgb;
  } else if (u_mode == 2) {
    background = u_colour;
#ifdef TRANSPARENT
  } else if (u_mode == 3) {
    background = person; // nothing to spill: the background is left to whatever shows through
#endif
  } else {
    background = blurSums.rgb / max(blurSums.a, 1e-4);
  }
  float alpha = u_personVisible * smoothstep(u_feather.x, u_feather.y, texture(u_mask, v_uv).r);
  // blurSums.a is the blurred background coverage: > 0 only near the silhouette.
  float wrap = u_lightWrap * clamp(blurSums.a, 0.0, 1.0) * alpha;
  person = mix(person, background, wrap);
#ifdef ALPHA_ONLY
  outColor = vec4(alpha, 0.0, 0.0, 1.0); // the benchmark probe reads what share of each pixel is camera
#elif defined(TRANSPARENT)
  outColor = vec4(mix(background, person, alpha), u_mode == 3 ? alpha : 1.0);
#else
  outColor = vec4(mix(background, person, alpha), 1.0);
#endif
}
`;
