/** The GPU side of a frame: camera -> frame ring slot (full size + model size) -> (gate, model input),
 * and later, once that frame's mask is known, mask -> refinement -> background -> composite onto the
 * output canvas. Stages share one context. */
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

/** Build every stage; `manifest` null means no model (the picture can only be fully blurred). */
export function createPipeline(canvas, manifest) {
  const context = createGraphicsContext(canvas);
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
  const composite = buildCompositeStage(context);
  const colour = [0, 0, 0];
  const compositeInputs = {
    camera: null, mask: null, blur: null, image: background.texture,
    mode: 0, colour, imageTransform: null, personVisible: false,
  };
  const refineSources = {
    mask: mask.texture, guideSmall: null, previousSmall: null, segmentedSmall: mask.segmented.texture, camera: null,
    maskWidth: modelWidth, maskHeight: modelHeight, distrustChange: false,
  };
  const refineSize = { width: 0, height: 0, jbuRadius: 1 };
  let hasMask = false;
  let lastColour = '';
  let previousComposited = null; // the slot composited last: its model-size frame measures motion

  return {
    gl,
    get hasMask() { return hasMask; },
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
      downscale.render(slot.camera.texture, slot.small);
      return true;
    },
    /** Change inside the current mask's edge band between its frame and `slot`'s (null without a mask). */
    measureMotion(slot) {
      return hasMask ? gate.measure(slot.small.texture, mask.segmented.texture, mask.band.texture) : null;
    },
    /** Write `slot`'s model input into `destination`. */
    prepareInput(slot, destination) {
      preprocess?.render(slot.small.texture, destination);
    },
    /** Take a new mask (Float32Array of model-size probabilities) computed from `slot`'s frame. */
    setMask(probabilities, slot) {
      mask.upload(probabilities, slot.small);
      hasMask = true;
    },
    /** Forget the mask and its history (camera restart). */
    resetMask() {
      hasMask = false;
      previousComposited = null;
      refine.reset();
    },
    setBackgroundImage(source) {
      background.setImage(source);
    },
    /** Show a playing video element as the picture background; each new frame is copied when drawn. */
    setBackgroundVideo(video) {
      background.setVideo(video);
    },
    /**
     * Draw `slot`'s frame as the outgoing picture. `look`: {mode, blurLevel, colour, personVisible,
     * tier, distrustChange}; distrustChange: the mask is older than the frame and was not shown to
     * fit it, so what changed since the mask's frame is background (the deadline path).
     */
    composite(slot, look) {
      const personVisible = look.personVisible && hasMask;
      if (personVisible) {
        refineSize.width = Math.max(1, Math.round(canvas.width * look.tier.internalScale));
        refineSize.height = Math.max(1, Math.round(canvas.height * look.tier.internalScale));
        refineSize.jbuRadius = look.tier.jbuRadius;
        refineSources.guideSmall = slot.small.texture;
        refineSources.previousSmall = (previousComposited ?? slot).small.texture;
        refineSources.camera = slot.camera.texture;
        refineSources.distrustChange = look.distrustChange;
        refine.render(refineSources, refineSize);
        compositeInputs.mask = refine.texture;
        const level = look.mode === 'blur' ? look.blurLevel : WRAP_BLUR_LEVEL;
        compositeInputs.blur = blur.render(slot.small.texture, refine.texture, level);
        compositeInputs.mode = BACKGROUND_MODES[look.mode];
        if (look.mode === 'image') background.update();
      } else {
        // Fail closed: everything is background, and the background is the privacy blur.
        compositeInputs.mask = mask.texture;
        compositeInputs.blur = blur.render(slot.small.texture, null, 'privacy');
        compositeInputs.mode = BACKGROUND_MODES.blur;
      }
      compositeInputs.camera = slot.camera.texture;
      compositeInputs.personVisible = personVisible;
      if (look.colour !== lastColour) {
        parseColour(look.colour, colour);
        lastColour = look.colour;
      }
      compositeInputs.imageTransform = background.coverTransform(canvas.width, canvas.height);
      composite.render(compositeInputs);
      previousComposited = slot;
    },
    /** The alpha the last composite used (person = 1), sampled at the model size into `into` (Uint8Array W*H), for the benchmark probe. */
    readAlpha(into) {
      composite.readAlpha(compositeInputs, into, modelWidth, modelHeight);
    },
    cleanUp() {
      for (const stage of [composite, background, blur, refine, gate, mask, preprocess, downscale, ring]) stage?.cleanUp();
      context.cleanUp();
    },
  };
}
