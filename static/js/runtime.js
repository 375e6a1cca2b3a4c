/** Load the vendored onnxruntime-web and find out what this browser can run it on. */

// Threads beyond this gain little for a ~100K-parameter model and take cores from rendering.
const MAX_WASM_THREADS = 4;
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
  // WASM threads need SharedArrayBuffer, which exists only when cross-origin isolated, and not even then
  // in every engine (WebKitGTK leaves it out unless JSC_useSharedArrayBuffer=1): one thread otherwise.
  const shared = isolated && typeof SharedArrayBuffer === 'function';
  const threads = shared ? Math.max(1, Math.min(MAX_WASM_THREADS, navigator.hardwareConcurrency || 1)) : 1;
  ort.env.wasm.wasmPaths = ortBase;
  ort.env.wasm.numThreads = threads;
  const backends = ['wasm'];
  if (await webgpuAvailable()) backends.unshift('webgpu');
  return { ort, version: ort.env.versions?.web ?? 'unknown', isolated, threads, backends };
}
