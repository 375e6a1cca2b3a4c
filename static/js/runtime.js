/** Load the vendored onnxruntime-web and find out what this browser can run it on. */
import { canShareMemory, defaultThreads } from './segmenter/segmenter.js';

// The bundle with the WebGPU and WASM execution providers (one runtime file for both).
const ORT_BUNDLE = 'ort.webgpu.min.mjs';

export class RuntimeUnavailableError extends Error {
  constructor(cause) {
    super('The segmentation runtime (onnxruntime-web) did not load. Reload the page; if it keeps failing, '
      + 'the server is missing its node_modules (run the setup command again).');
    this.name = 'RuntimeUnavailableError';
    this.cause = cause;
  }
}

async function webgpuAvailable() {
  if (!navigator.gpu) return false;
  try {
    return (await navigator.gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

/**
 * Import onnxruntime-web from our own server and configure its WASM backend.
 * @returns {Promise<{ort: object, version: string, isolated: boolean, threads: number, backends: string[]}>}
 */
export async function loadRuntime({ ortBase }) {
  let ort;
  try {
    ort = await import(`${ortBase}${ORT_BUNDLE}`);
  } catch (error) {
    throw new RuntimeUnavailableError(error);
  }
  const isolated = globalThis.crossOriginIsolated === true;
  // The threads the segmenter's worker will run (one without SharedArrayBuffer), so what the page
  // reports is what runs.
  const threads = defaultThreads(canShareMemory());
  ort.env.wasm.wasmPaths = ortBase;
  ort.env.wasm.numThreads = threads;
  const backends = ['wasm'];
  if (await webgpuAvailable()) backends.unshift('webgpu');
  return { ort, version: ort.env.versions?.web ?? 'unknown', isolated, threads, backends };
}
