/** The segmentation model: its manifests, the ONNX runtime, and a supervised segmenter worker,
 * each step reported on the page's status panel and message box. */
import { loadRuntime } from '../runtime.js';
import { fetchManifest, modelLabel } from '../model_manifest.js';
import { createSegmenterSupervisor } from '../segmenter_supervisor.js';

/** Show a segmentation failure (or clear it: null). */
export function showSegmentationProblem(message, error) {
  if (error) message.show('segmentation', { title: error.title ?? 'Segmentation failed.', advice: error.advice ?? error.message });
  else message.clear('segmentation');
}

/** Fetch the model manifests; resolves {manifest, manifestFp32}, or null after saying why not. */
async function loadManifests(config, status, message) {
  try {
    const manifest = await fetchManifest(config.modelManifestUrl);
    const manifestFp32 = config.webgpuModelManifestUrl === config.modelManifestUrl
      ? manifest
      : await fetchManifest(config.webgpuModelManifestUrl).catch(() => manifest);
    return { manifest, manifestFp32 };
  } catch (error) {
    status.set('model', 'unavailable', 'bad');
    message.show('model', { title: 'Segmentation is not available.', advice: error.message });
    return null;
  }
}

/**
 * Start loading at once (manifests in parallel with the runtime's download).
 * @param {{config, status, message, backend: () => string,
 *   onRuntime: (runtime) => void, onReady: (segmenter, manifest) => void, onLost: (error) => void}} options
 *   backend: the backend to start with ('auto', 'wasm', 'webgpu'); onReady: a (new) segmenter runs the
 *   model of `manifest` (the fp32 twin on WebGPU);
 *   onLost: it died (the supervisor retries by itself).
 * @returns {{manifests: Promise<{manifest, manifestFp32}|null>, readonly supervisor}}
 */
export function startModelLoading({ config, status, message, backend, onRuntime, onReady, onLost }) {
  const manifests = loadManifests(config, status, message);
  let supervisor = null;

  async function loadModel() {
    try {
      const runtime = await loadRuntime(config);
      status.set('ort-version', runtime.version);
      status.set('backends', `${runtime.backends.join(', ')} · ${runtime.threads} WASM thread${runtime.threads > 1 ? 's' : ''}`);
      onRuntime(runtime);
    } catch (error) {
      status.set('ort-version', 'unavailable', 'bad');
      message.show('runtime', { title: 'Segmentation is not available.', advice: error.message });
      return;
    }
    const loaded = await manifests;
    if (!loaded) return;
    const { manifest, manifestFp32 } = loaded;
    status.set('model', `${modelLabel(manifest)} · ${manifest.input.shape.join('x')} · loading…`);
    supervisor = createSegmenterSupervisor({
      ortBase: config.ortBase,
      manifest,
      manifestFp32,
      onReady: (segmenter) => {
        const running = segmenter.backend === 'webgpu' ? manifestFp32 : manifest; // as createSegmenter picks
        status.set('model', `${modelLabel(running)} · ${segmenter.backend}`);
        onReady(segmenter, running);
      },
      onLost,
      onProblem: (error) => {
        if (error) status.set('model', 'failed, retrying…', 'bad');
        showSegmentationProblem(message, error);
      },
    });
    supervisor.start(backend());
  }

  loadModel();
  return {
    manifests,
    /** The segmenter supervisor, once the runtime and the manifests loaded (null before). */
    get supervisor() { return supervisor; },
  };
}
