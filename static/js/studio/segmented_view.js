/** A page's composited picture joined to its model: the segmenter the model loading hands over reaches the
 * compositor's session (and a lost one is taken back, so the picture turns to the privacy blur); the
 * compositor is built on the first camera start, once the model's manifest is known, and rebuilt after a
 * WebGL context loss. The studio and the output view share this. */
import { publishDiagnostics } from '../diagnostics.js';
import { modelLabel } from '../model_manifest.js';
import { createCompositor } from './compositor.js';
import { recoverLostGraphics } from './graphics_recovery.js';
import { createBackgroundChoice } from './background_choice.js';
import { startModelLoading, showSegmentationProblem } from './model_loading.js';

/**
 * @param {{config, canvas: HTMLCanvasElement, video: HTMLVideoElement, settings: {get: () => object},
 *   status, message, backend: () => string, onRuntime?: (runtime) => void,
 *   onBuilt?: (compositor) => void, transparent?: boolean}} options
 *   settings: what the picture should look like (the studio's settings store, or the output view's look);
 *   onBuilt: called once the compositor exists, before the background is drawn.
 */
export function connectSegmentedView({ config, canvas, video, settings, status, message, backend,
  onRuntime = () => {}, onBuilt = () => {}, transparent = false }) {
  let compositor = null;
  const backgrounds = createBackgroundChoice({ store: settings, message, pipeline: () => compositor?.pipeline ?? null });
  const model = startModelLoading({
    config,
    status,
    message,
    backend,
    onRuntime,
    onReady: (segmenter, manifest) => {
      compositor?.session.setSegmenter(segmenter);
      publishDiagnostics({ model: { name: manifest.name ?? config.modelName, label: modelLabel(manifest), precision: manifest.precision, backend: segmenter.backend, choice: segmenter.choice } });
    },
    onLost: (error) => compositor?.session.setSegmenter(null, error),
  });

  /** The session to feed, built once per page: the pipeline is sized and normalised for the model,
   * so a click before its manifest arrived waits for it (one built without it could only blur). */
  async function prepareSession() {
    const loaded = await model.manifests;
    if (compositor) return compositor.session;
    compositor = createCompositor({
      canvas,
      video,
      manifest: loaded?.manifest ?? null,
      look: () => settings.get(),
      onProblem: (topic, error) => (topic === 'segmentation' ? showSegmentationProblem(message, error) : null),
      transparent,
    });
    if (model.supervisor?.segmenter) compositor.session.setSegmenter(model.supervisor.segmenter);
    onBuilt(compositor);
    backgrounds.apply();
    recoverLostGraphics(canvas, { compositor, message, onRestored: () => backgrounds.apply() });
    return compositor.session;
  }

  return {
    /** The compositor, null before the first camera start. */
    get compositor() { return compositor; },
    model,
    backgrounds,
    prepareSession,
  };
}
