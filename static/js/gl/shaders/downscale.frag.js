/** The camera frame at the model's input size: four bilinear taps average a 4x4 camera
 * neighbourhood, so a 1280 -> 256 reduction does not alias (one tap would skip 4 of 5 columns). */
export default /* glsl */ `#version 300 es
precision mediump float;
uniform sampler2D u_camera;
uniform vec2 u_tapOffset; // a quarter of a destination texel, in uv units
in vec2 v_uv;
out vec4 outColor;

void main() {
  vec3 sum = texture(u_camera, v_uv + vec2(-u_tapOffset.x, -u_tapOffset.y)).rgb
           + texture(u_camera, v_uv + vec2( u_tapOffset.x, -u_tapOffset.y)).rgb
           + texture(u_camera, v_uv + vec2(-u_tapOffset.x,  u_tapOffset.y)).rgb
           + texture(u_camera, v_uv + vec2( u_tapOffset.x,  u_tapOffset.y)).rgb;
  outColor = vec4(sum * 0.25, 1.0);
}
`;
