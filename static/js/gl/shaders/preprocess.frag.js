/** The model's input tensor, normalised and laid out NCHW, so readPixels fills it with no JS loop.
 *
 * The target is (W/4) x (3H) RGBA32F: row r holds channel floor(r/H), image row r mod H, and each
 * texel packs four consecutive pixels, so reading the rows in order yields [C][H][W] floats. */
export default /* glsl */ `#version 300 es
precision highp float;
precision highp int;
uniform sampler2D u_frame;  // model-size RGBA8, row 0 = image top
uniform int u_height;       // model input height H
uniform float u_scale;      // manifest input.scale: pixel (0..255) * scale
uniform vec3 u_mean;        // manifest input.mean, in scaled units
uniform vec3 u_invStd;      // 1 / manifest input.std
out vec4 outValue;

float channelValue(ivec2 pixel, vec3 selector) {
  vec3 rgb = texelFetch(u_frame, pixel, 0).rgb;
#ifdef BGR
  rgb = rgb.bgr;
#endif
  vec3 normalised = (rgb * 255.0 * u_scale - u_mean) * u_invStd;
  return dot(normalised, selector);
}

void main() {
  ivec2 texel = ivec2(gl_FragCoord.xy);
  int channel = texel.y / u_height;
  int row = texel.y - channel * u_height;
  vec3 selector = vec3(channel == 0, channel == 1, channel == 2);
  int column = texel.x * 4;
  outValue = vec4(
    channelValue(ivec2(column, row), selector),
    channelValue(ivec2(column + 1, row), selector),
    channelValue(ivec2(column + 2, row), selector),
    channelValue(ivec2(column + 3, row), selector));
}
`;
