/** The render side of a page that shows the composited picture: the GPU pipeline, the benchmark
 * probe and the camera session, set up from the page URL's options, rebuilt after a WebGL context
 * loss. */
import { createPipeline } from '../pipeline.js';
import { createSession } from '../session.js';
import { qualityFromUrl } from '../quality.js';
import { benchEnabled, createBenchProbe } from '../bench_probe.js';

/**
 * @param {{canvas: HTMLCanvasElement, video: HTMLVideoElement, manifest: object, look: () => object,
 *   onProblem: (topic, error|null) => void, search?: string, transparent?: boolean}} options
 *   search: the URL's query (`?bench`, `?sync=0`, `?gate=off`, `?quality=`); transparent: see pipeline.js.
 */
export function createCompositor({ canvas, video, manifest, look, onProblem, search = location.search, transparent = false }) {
  const options = new URLSearchParams(search);
  let pipeline = createPipeline(canvas, manifest, { transparent });
  const probe = benchEnabled(search)
    ? createBenchProbe(pipeline.gl, pipeline.modelSize.width, pipeline.modelSize.height, search)
    : null;
  const session = createSession({
    probe,
    // `?sync=0`: the old unsynchronised compositing, kept for the benchmark's before/after only.
    sync: options.get('sync') !== '0',
    pipeline,
    video,
    canvas,
    look,
    onProblem,
  });
  // `?gate=off` segments every frame: the benchmark's baseline, and a diagnostic for users.
  if (options.get('gate') === 'off') session.gate.enabled = false;
  // `?quality=high|medium|low|lowest` fixes the quality tier; absent or `auto`, it follows the frame rate.
  session.quality.pin(qualityFromUrl(search));

  return {
    session,
    /** The benchmark probe (`?bench=1|alpha`), or null. */
    probe,
    /** The current pipeline; null while the WebGL context is lost. */
    get pipeline() { return pipeline; },
    /** The context is gone: nothing is drawn until restoreGraphics(). */
    loseGraphics() {
      pipeline = null;
      session.setPipeline(null);
    },
    /** Rebuild every stage in the restored context; the picture stays blurred until a new mask. Returns the
     * pipeline; throws (leaving nothing drawn, as while lost) when a stage cannot be built. */
    restoreGraphics() {
      pipeline = createPipeline(canvas, manifest, { transparent });
      session.setPipeline(pipeline);
      return pipeline;
    },
  };
}
