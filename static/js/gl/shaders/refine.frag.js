/** Mask refinement at the internal resolution, in one pass:
 * 1. joint bilateral upsampling of the low-resolution mask, guided by the full-resolution frame
 *    (Kopf et al. 2007): low-res samples whose colour matches this pixel count more, so the edge
 *    snaps to the real silhouette instead of a blurry 256x144 one;
 * 2. temporal smoothing whose strength follows motion: strong where the picture is still (no
 *    flicker), none where it moves (no ghost trailing the person);
 * 3. on the deadline path only (the DISTRUST variant: this frame's own mask is late and the mask is
 *    an older frame's), every pixel within DISTRUST_RADIUS model texels of a change since the mask's
 *    frame is not person: whatever moved there since (the room behind a person who moved away)
 *    shows the background, never the raw camera. */
export default /* glsl */ `#version 300 es
precision highp float;
uniform sampler2D u_mask;          // model-size person probability (linear filtering)
uniform sampler2D u_guideSmall;    // this frame at model size: the colours of the mask's samples
uniform sampler2D u_previousSmall; // last frame at model size, for motion
uniform sampler2D u_camera;        // this frame at full resolution: the colour of this pixel
uniform sampler2D u_previousMask;  // last output of this pass
uniform vec2 u_maskTexel;          // 1 / model size
uniform float u_rangeFalloff;      // 1 / (2 sigma_r^2), sigma_r in 0..1 colour units
uniform float u_temporalKeep;      // weight of the previous mask where nothing moves, 0..1
uniform float u_temporalRaiseLimit; // how far smoothing may raise the person probability above this frame's mask
uniform vec2 u_motionRange;        // luma change (0..1) from which smoothing fades out to none
uniform float u_hasPrevious;       // 0 on the first frame after a (re)start
uniform sampler2D u_segmentedSmall; // the frame the mask was computed from, at model size
uniform float u_changeThreshold;   // luma change (0..1) that counts as changed on the deadline path
in vec2 v_uv;
out vec4 outValue;

const vec3 LUMA = vec3(0.299, 0.587, 0.114);
const float SPATIAL_FALLOFF = 0.5; // exp(-d^2 * 0.5): sigma_s = 1 low-res texel

void main() {
  vec3 centre = texture(u_camera, v_uv).rgb;
  float weightSum = 0.0;
  float maskSum = 0.0;
  for (int y = -JBU_RADIUS; y <= JBU_RADIUS; y++) {
    for (int x = -JBU_RADIUS; x <= JBU_RADIUS; x++) {
      vec2 offset = vec2(float(x), float(y));
      vec2 at = v_uv + offset * u_maskTexel;
      vec3 colour = texture(u_guideSmall, at).rgb;
      vec3 delta = colour - centre;
      float weight = exp(-dot(offset, offset) * SPATIAL_FALLOFF - dot(delta, delta) * u_rangeFalloff);
      maskSum += weight * texture(u_mask, at).r;
      weightSum += weight;
    }
  }
  float mask = maskSum / max(weightSum, 1e-5);

  float motion = abs(dot(texture(u_guideSmall, v_uv).rgb - texture(u_previousSmall, v_uv).rgb, LUMA));
  float keep = u_hasPrevious * u_temporalKeep * (1.0 - smoothstep(u_motionRange.x, u_motionRange.y, motion));
  // Smoothing may lower the person probability freely, but raise it only a little above this frame's
  // mask: where the luma barely changed because the room behind resembles the person that just moved
  // away (dark hair before a dark shelf), carrying the old mask over would show the room.
  float person = min(mix(mask, texture(u_previousMask, v_uv).r, keep), mask + u_temporalRaiseLimit);
#ifdef DISTRUST
  {
    float changed = 0.0;
    for (int y = -DISTRUST_RADIUS; y <= DISTRUST_RADIUS; y++) {
      for (int x = -DISTRUST_RADIUS; x <= DISTRUST_RADIUS; x++) {
        vec2 at = v_uv + vec2(float(x), float(y)) * u_maskTexel;
        float change = abs(dot(texture(u_guideSmall, at).rgb - texture(u_segmentedSmall, at).rgb, LUMA));
        changed = max(changed, step(u_changeThreshold, change));
      }
    }
    person *= 1.0 - changed;
  }
#endif
  outValue = vec4(person, 0.0, 0.0, 1.0);
}
`;
