/** The GPU side of a frame: camera -> model-size frame -> (gate, model input) and
 * mask -> refinement -> background -> composite onto the output canvas. Stages share one context. */
import { createGraphicsContext } from './gl/context.js';
import { buildCameraStage } from './gl/stages/camera_stage.js';
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

  const camera = buildCameraStage(context);
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
    camera: camera.texture, mask: null, blur: null, image: background.texture,
    mode: 0, colour, imageTransform: null, personVisible: false,
  };
  const refineSources = {
    mask: mask.texture, guideSmall: null, previousSmall: null, camera: camera.texture,
    maskWidth: modelWidth, maskHeight: modelHeight,
  };
  const refineSize = { width: 0, height: 0, jbuRadius: 1 };
  let hasMask = false;
  let lastColour = '';

  return {
    gl,
    get hasMask() { return hasMask; },
    /** Framebuffer of this frame at model size (for the benchmark probe's frame-code reading). */
    get smallFrameBuffer() { return downscale.current.framebuffer; },
    modelSize,
    /** Upload the camera frame and make its model-size copy; false until the video has a frame. */
    uploadFrame(video) {
      if (!video.videoWidth) return false;
      if (canvas.width !== video.videoWidth || canvas.height !== video.videoHeight) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
      }
      camera.update(video);
      downscale.render(camera.texture);
      return true;
    },
    /** Change inside the last mask's edge band since its frame (null without a mask). */
    measureMotion() {
      return hasMask ? gate.measure(downscale.current.texture, downscale.segmented.texture, mask.band.texture) : null;
    },
    /** Write this frame's model input into `destination` and remember the frame for the gate. */
    prepareInput(destination) {
      preprocess?.render(downscale.current.texture, destination);
      downscale.markSegmented();
    },
    /** Take a new mask (Float32Array of model-size probabilities). */
    setMask(probabilities) {
      mask.upload(probabilities);
      hasMask = true;
    },
    /** Forget the mask and its history (camera restart). */
    resetMask() {
      hasMask = false;
      refine.reset();
    },
    setBackgroundImage(source) {
      background.setImage(source);
    },
    /** Show a playing video element as the picture background; each new frame is copied when drawn. */
    setBackgroundVideo(video) {
      background.setVideo(video);
    },
    /** Draw the outgoing frame. `look`: {mode, blurLevel, colour, personVisible, tier}. */
    composite(look) {
      const personVisible = look.personVisible && hasMask;
      if (personVisible) {
        refineSize.width = Math.max(1, Math.round(canvas.width * look.tier.internalScale));
        refineSize.height = Math.max(1, Math.round(canvas.height * look.tier.internalScale));
        refineSize.jbuRadius = look.tier.jbuRadius;
        refineSources.guideSmall = downscale.current.texture;
        refineSources.previousSmall = downscale.previous.texture;
        refine.render(refineSources, refineSize);
        compositeInputs.mask = refine.texture;
        const level = look.mode === 'blur' ? look.blurLevel : WRAP_BLUR_LEVEL;
        compositeInputs.blur = blur.render(downscale.current.texture, refine.texture, level);
        compositeInputs.mode = BACKGROUND_MODES[look.mode];
        if (look.mode === 'image') background.update();
      } else {
        // Fail closed: everything is background, and the background is the privacy blur.
        compositeInputs.mask = mask.texture;
        compositeInputs.blur = blur.render(downscale.current.texture, null, 'privacy');
        compositeInputs.mode = BACKGROUND_MODES.blur;
      }
      compositeInputs.personVisible = personVisible;
      if (look.colour !== lastColour) {
        parseColour(look.colour, colour);
        lastColour = look.colour;
      }
      compositeInputs.imageTransform = background.coverTransform(canvas.width, canvas.height);
      composite.render(compositeInputs);
    },
    cleanUp() {
      for (const stage of [composite, background, blur, refine, gate, mask, preprocess, downscale, camera]) stage?.cleanUp();
      context.cleanUp();
    },
  };
}
