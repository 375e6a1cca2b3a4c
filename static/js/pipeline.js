/** The GPU side of a frame: camera -> frame ring slot (full size + model size) -> (gate, model input),
 * and later, once that frame's mask is known, mask -> refinement -> background -> composite onto the
 * output canvas. Stages share one context.
 *
 * Every stage (gl/stages/) has one shape: `build<Name>Stage(context, ...)` returns `{render, cleanUp}`;
 * `render(inputs)` returns what the stage produced for the next one (a texture, a reused object of
 * textures or numbers, or the caller's destination it filled); the composite stage draws on the
 * canvas and returns nothing. `cleanUp` deletes exactly what the stage created. */
import { createGraphicsContext } from './gl/context.js';
import { createFrameRing } from './gl/frame_ring.js';
import { buildDownscaleStage } from './gl/stages/downscale_stage.js';
import { buildPreprocessStage } from './gl/stages/preprocess_stage.js';
import { buildMaskStage } from './gl/stages/mask_stage.js';
import { buildGateStage } from './gl/stages/gate_stage.js';
import { buildRefineStage } from './gl/stages/refine_stage.js';
import { buildBlurStage } from './gl/stages/blur_stage.js';
import { buildBackgroundStage } from './gl/stages/background_stage.js';
import { buildCompositeStage, BACKGROUND_MODES } from './gl/stages/composite_stage.js';
import { buildCompositeAlphaStage } from './gl/stages/composite_alpha_stage.js';

// Working size of the model-size frame when no model could be loaded: only the privacy blur runs.
const BLUR_ONLY_SIZE = Object.freeze({ width: 256, height: 144 });
// Light wrap needs the masked blur's coverage even over a picture or a colour; the light level
// is the cheapest.
const WRAP_BLUR_LEVEL = 'light';

/** Parse '#rrggbb' into a reused [r, g, b] in 0..1. */
function parseColour(hex, into) {
  const value = Number.parseInt(hex.slice(1), 16);
  into[0] = ((value >> 16) & 255) / 255;
  into[1] = ((value >> 8) & 255) / 255;
  into[2] = (value & 255) / 255;
  return into;
}

/** Build every stage; `manifest` null means no model (the picture can only be fully blurred).
 * `transparent`: the canvas keeps an alpha channel, for the `transparent` background mode. */
export function createPipeline(canvas, manifest, { transparent = false } = {}) {
  const context = createGraphicsContext(canvas, { transparent });
  const { gl } = context;
  const modelSize = manifest
    ? { width: manifest.input.shape[3], height: manifest.input.shape[2] }
    : BLUR_ONLY_SIZE;
  const { width: modelWidth, height: modelHeight } = modelSize;

  const ring = createFrameRing(context, modelSize);
  const downscale = buildDownscaleStage(context, modelSize);
  const preprocess = manifest ? buildPreprocessStage(context, manifest) : null;
  const mask = buildMaskStage(context, modelSize);
  const gate = buildGateStage(context, modelSize);
  const refine = buildRefineStage(context);
  const blur = buildBlurStage(context, modelSize);
  const background = buildBackgroundStage(context);
  const composite = buildCompositeStage(context, { transparent });
  let compositeAlpha = null; // benchmark probe only: built on first use
  const colour = [0, 0, 0];
  let backdrop = background.render(null, 1, 1); // {texture, transform} of the background picture
  const compositeInputs = {
    camera: null, mask: null, blur: null, image: backdrop.texture,
    mode: 0, colour, imageTransform: backdrop.transform, personVisible: false,
  };
  const refineSources = {
    mask: null, guideSmall: null, previousSmall: null, segmentedSmall: null, camera: null,
    maskWidth: modelWidth, maskHeight: modelHeight, distrustChange: false, continuesHistory: false,
  };
  const refineSize = { width: 0, height: 0, jbuRadius: 1 };
  let masks = null; // {mask, segmented, band} textures of the latest mask; null until one arrives
  let backgroundSource = null; // the picture or playing video element of the `image` mode
  let lastColour = '';
  let previousComposited = null; // the slot composited last: its model-size frame measures motion

  return {
    gl,
    get hasMask() { return masks !== null; },
    modelSize,
    /** The frame ring's slots hold frames until their masks arrive (session.js decides which are held). */
    ring,
    /** The slot composited last (its model-size frame is the next composite's motion reference: keep it). */
    get lastComposited() { return previousComposited; },
    /** Upload the camera frame into `slot` and make its model-size copy; false until the video has a frame. */
    uploadFrame(video, slot) {
      if (!video.videoWidth) return false;
      if (canvas.width !== video.videoWidth || canvas.height !== video.videoHeight) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
      }
      ring.upload(slot, video);
      downscale.render(slot.camera, slot.small);
      return true;
    },
    /** Change inside the current mask's edge band between its frame and `slot`'s (null without a mask). */
    measureMotion(slot) {
      return masks ? gate.render(slot.small.texture, masks.segmented, masks.band) : null;
    },
    /** Write `slot`'s model input into `destination`. */
    prepareInput(slot, destination) {
      preprocess?.render(slot.small.texture, destination);
    },
    /** Take a new mask (Float32Array of model-size probabilities) computed from `slot`'s frame. */
    setMask(probabilities, slot) {
      masks = mask.render(probabilities, slot.small);
    },
    /** Forget the mask and its history (camera restart). */
    resetMask() {
      masks = null;
      previousComposited = null;
      refineSources.continuesHistory = false;
    },
    /** Show a picture (uploaded now: the caller may close it) or a playing video element (each new
     * frame is copied when drawn) as the `image` background. */
    setBackground(source) {
      backgroundSource = source;
      backdrop = background.render(source, canvas.width || 1, canvas.height || 1);
    },
    /**
     * Draw `slot`'s frame as the outgoing picture. `look`: {mode, blurLevel, colour, personVisible,
     * tier, distrustChange}; distrustChange: the mask is older than the frame and was not shown to
     * fit it, so what changed since the mask's frame is background (the deadline path).
     */
    composite(slot, look) {
      const personVisible = look.personVisible && masks !== null;
      if (personVisible) {
        refineSize.width = Math.max(1, Math.round(canvas.width * look.tier.internalScale));
        refineSize.height = Math.max(1, Math.round(canvas.height * look.tier.internalScale));
        refineSize.jbuRadius = look.tier.jbuRadius;
        refineSources.mask = masks.mask;
        refineSources.segmentedSmall = masks.segmented;
        refineSources.guideSmall = slot.small.texture;
        refineSources.previousSmall = (previousComposited ?? slot).small.texture;
        refineSources.camera = slot.camera;
        refineSources.distrustChange = look.distrustChange;
        const refined = refine.render(refineSources, refineSize);
        refineSources.continuesHistory = true;
        compositeInputs.mask = refined;
        const level = look.mode === 'blur' ? look.blurLevel : WRAP_BLUR_LEVEL;
        compositeInputs.blur = blur.render(slot.small.texture, refined, level);
        compositeInputs.mode = BACKGROUND_MODES[look.mode];
        if (look.mode === 'image') backdrop = background.render(backgroundSource, canvas.width, canvas.height);
      } else {
        // Fail closed: everything is background, and the background is the privacy blur (opaque in
        // every mode, `transparent` included). The mask input is unused: u_personVisible is 0.
        compositeInputs.blur = blur.render(slot.small.texture, null, 'privacy');
        compositeInputs.mask = compositeInputs.blur;
        compositeInputs.mode = BACKGROUND_MODES.blur;
      }
      compositeInputs.camera = slot.camera;
      compositeInputs.personVisible = personVisible;
      if (look.colour !== lastColour) {
        parseColour(look.colour, colour);
        lastColour = look.colour;
      }
      compositeInputs.image = backdrop.texture;
      compositeInputs.imageTransform = backdrop.transform;
      composite.render(compositeInputs);
      previousComposited = slot;
    },
    /** The alpha the last composite used (person = 1), sampled at the model size into `into` (Uint8Array 4*W*H), for the benchmark probe. */
    readAlpha(into) {
      compositeAlpha ??= buildCompositeAlphaStage(context, modelSize);
      return compositeAlpha.render(compositeInputs, into);
    },
    cleanUp() {
      for (const stage of [compositeAlpha, composite, background, blur, refine, gate, mask, preprocess, downscale, ring]) stage?.cleanUp();
      context.cleanUp();
    },
  };
}
