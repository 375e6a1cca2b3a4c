/** The segmentation worker: one onnxruntime-web session run on the page's input, writing person masks.
 *
 * Started by segmenter.js as `new Worker(url, {type: 'module'})`; every message is in protocol.js.
 * The input and both mask buffers are wrapped once at start-up and reused for every run: when the page is
 * cross-origin isolated they are SharedArrayBuffers the page reads and writes directly (no copy). */
import { OP, FAULTS } from './protocol.js';
import { FAILURE } from './segmenter_error.js';
import { CodedError, fetchModelBytes } from './model_file.js';
import { fastest } from './backend_choice.js';

// The bundle with the WebGPU and WASM execution providers (one runtime file for both).
const ORT_BUNDLE = 'ort.webgpu.min.mjs';
const TIMED_RUNS = 10; // the median of these decides the backend
const TIMING_BUDGET_MS = 1000; // per backend: a slow one stops early (after at least one timed run)
const SLOW_FAULT_FACTOR = 2; // the slow-inference fault holds results for this many result timeouts
// The delayed-inference fault holds results this long: past session.js's deadline (2 camera frames,
// 67 ms at 30 fps) on any machine, well inside the 500 ms result timeout (no failure is declared).
const DELAYED_FAULT_MS = 150;
// Worker threads sleep between runs instead of spinning: the other cores belong to rendering.
const INTRA_OP_SPINNING = '0';
const MISSING_SUFFIX = '.fault-404'; // appended by the model-404 fault: a URL the server never serves
const DAMAGE_STRIDE = 97; // bytes between the bytes the model-corrupt fault flips (prime: no alignment)

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function damageBytes(bytes) {
  for (let i = 0; i < bytes.length; i += DAMAGE_STRIDE) bytes[i] ^= 0xff;
}

/** null without a WebGPU adapter, else {software}: true for a CPU emulation such as SwiftShader. */
async function webgpuAdapter() {
  if (!globalThis.navigator?.gpu) return null;
  try {
    const adapter = await navigator.gpu.requestAdapter();
    return adapter && { software: adapter.info?.isFallbackAdapter === true };
  } catch {
    return null;
  }
}

/** Where the person probability is in the model's output: checked once per session, used every run. */
function outputLayout(manifest) {
  const { output, input } = manifest;
  const [, , height, width] = input.shape;
  const activation = output.activation ?? 'none';
  if (activation !== 'none') { // our exports end in a sigmoid inside the graph
    throw new CodedError(FAILURE.BAD_MANIFEST, `output activation ${activation} is not supported (only none)`);
  }
  if ((output.layout ?? 'NCHW') !== 'NCHW' && output.shape?.[3] !== 1) {
    throw new CodedError(FAILURE.BAD_MANIFEST, `output layout ${output.layout} with several channels is not supported`);
  }
  const length = height * width;
  return { name: output.name, start: (output.channel ?? 0) * length, length };
}

function checkOutput(tensor, layout) {
  if (tensor.type !== 'float32' || tensor.data.length < layout.start + layout.length) {
    throw new CodedError(FAILURE.BAD_MANIFEST, `output ${layout.name} is ${tensor.type} [${tensor.dims}], expected float32 with ${layout.length} pixels per channel`);
  }
}

/**
 * Copy the person channel of an output tensor into `mask`. A copy, because onnxruntime-web 1.30's WASM backend ignores pre-allocated CPU outputs (it fills a
 * buffer in its own heap, frees it and leaves the given tensor untouched: checked in Chromium).
 */
function writeMask(tensor, layout, mask) {
  checkOutput(tensor, layout);
  const data = tensor.data;
  // A single-channel output is copied whole: subarray() would allocate a view every frame.
  mask.set(data.length === layout.length ? data : data.subarray(layout.start, layout.start + layout.length));
}

function describe(error, fallbackCode) {
  return { code: error instanceof CodedError ? error.code : fallbackCode, detail: String(error?.message ?? error) };
}

/** Everything the worker holds, in one closure (no module-level state). */
function startWorker(scope) {
  const state = {
    ort: null,
    input: null, // Float32Array(3*H*W), NCHW: shared with the page, or a private copy target
    inputTensor: null, // wraps `input` once; every run reads whatever the page wrote there
    masks: null, // two Float32Array(H*W): shared with the page, or private and cloned into replies
    shared: false,
    current: null, // {session, backend, layout, feeds, fetches, ms}
    device: null, // the WebGPU device of the session in use, watched for loss
    watched: new WeakSet(), // devices whose loss is already being watched
    faultsEnabled: false,
    fault: null,
    resultTimeoutMs: 0,
  };
  // Reused for every result: postMessage clones at call time, so one object serves all frames.
  const resultMessage = { op: OP.RESULT, runId: 0, slot: 0, inferenceMs: 0, mask: null };

  function post(message) {
    scope.postMessage(message);
  }

  function fail(code, detail) {
    post({ op: OP.FAILURE, code, detail });
  }

  async function init({ ortBase, threads, shared, inputShape, maskLength, faultsEnabled, fault, resultTimeoutMs }) {
    try {
      state.ort = await import(`${ortBase}${ORT_BUNDLE}`);
    } catch (error) {
      throw new CodedError(FAILURE.RUNTIME_MISSING, String(error?.message ?? error));
    }
    state.ort.env.wasm.wasmPaths = ortBase;
    state.ort.env.wasm.numThreads = threads;
    state.shared = shared !== null;
    state.input = shared ? shared.input : new Float32Array(inputShape.reduce((a, b) => a * b, 1));
    state.masks = shared ? shared.masks : [new Float32Array(maskLength), new Float32Array(maskLength)];
    state.inputTensor = new state.ort.Tensor('float32', state.input, inputShape);
    state.faultsEnabled = faultsEnabled;
    state.fault = faultsEnabled ? fault : null;
    state.resultTimeoutMs = resultTimeoutMs;
    if (state.fault === FAULTS.WORKER_ERROR) throw new Error('injected fault: worker-error (at start)');
    const adapter = await webgpuAdapter();
    return { backends: adapter ? ['wasm', 'webgpu'] : ['wasm'], softwareWebgpu: adapter?.software ?? false };
  }

  /** Report the loss of the device the session in use runs on (not of one released on purpose). */
  function watch(device) {
    if (!device || state.watched.has(device)) return;
    state.watched.add(device);
    device.lost.then((info) => {
      if (state.device === device) fail(FAILURE.DEVICE_LOST, `${info.reason}: ${info.message}`);
    });
  }

  /** Median ms of a session's runs after a warm-up run, which also proves the output fits the manifest. */
  async function timeSession(session, feeds, fetches, layout) {
    // The first run compiles kernels and shaders and fills caches: checked, not timed (nor written to a
    // mask buffer: the page may still be showing a mask from the previous session).
    checkOutput((await session.run(feeds, fetches))[layout.name], layout);
    const samples = [];
    const started = performance.now();
    while (samples.length === 0
      || (samples.length < TIMED_RUNS && performance.now() - started < TIMING_BUDGET_MS)) {
      const before = performance.now();
      await session.run(feeds, fetches);
      samples.push(performance.now() - before);
    }
    return median(samples);
  }

  /** Create a session on `backend`, check it against the manifest, warm it up and time it. */
  async function openSession(backend, manifest, bytesByUrl) {
    if (backend === 'webgpu' && !(await webgpuAdapter())) {
      throw new CodedError(FAILURE.BACKEND_UNAVAILABLE, 'navigator.gpu.requestAdapter() gave no adapter');
    }
    const layout = outputLayout(manifest);
    const url = state.fault === FAULTS.MODEL_404 ? `${manifest.url}${MISSING_SUFFIX}` : manifest.url;
    if (!bytesByUrl.has(url)) {
      const damage = state.fault === FAULTS.MODEL_CORRUPT ? damageBytes : null;
      bytesByUrl.set(url, await fetchModelBytes(url, manifest.sha256, damage));
    }
    let session;
    try {
      session = await state.ort.InferenceSession.create(bytesByUrl.get(url), {
        executionProviders: [backend],
        graphOptimizationLevel: 'all',
        extra: { session: { intra_op: { allow_spinning: INTRA_OP_SPINNING } } },
      });
    } catch (error) {
      throw new CodedError(FAILURE.MODEL_REJECTED, `${backend}: ${error?.message ?? error}`);
    }
    try {
      if (!session.inputNames.includes(manifest.input.name) || !session.outputNames.includes(layout.name)) {
        throw new CodedError(FAILURE.BAD_MANIFEST, `the graph has inputs [${session.inputNames}] and outputs [${session.outputNames}]; the manifest names ${manifest.input.name} and ${layout.name}`);
      }
      const feeds = { [manifest.input.name]: state.inputTensor };
      const fetches = [layout.name];
      let ms;
      try {
        ms = await timeSession(session, feeds, fetches, layout);
      } catch (error) {
        throw error instanceof CodedError ? error : new CodedError(FAILURE.MODEL_REJECTED, `${backend}: first runs failed: ${error?.message ?? error}`);
      }
      return { session, backend, layout, feeds, fetches, ms };
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  async function adopt(opened) {
    const previous = state.current;
    state.current = opened;
    // onnxruntime destroys its device when the last WebGPU session goes: that loss is not a failure.
    state.device = opened.backend === 'webgpu' ? await state.ort.env.webgpu.device : null;
    watch(state.device);
    if (previous && previous.session !== opened.session) await previous.session.release();
  }

  /** Open each candidate backend, keep the fastest; a candidate that fails is skipped if another works. */
  async function choose({ candidates, manifests }) {
    const bytesByUrl = new Map();
    const opened = [];
    const failed = [];
    for (const backend of candidates) {
      try {
        opened.push(await openSession(backend, manifests[backend], bytesByUrl));
      } catch (error) {
        failed.push({ backend, ...describe(error, FAILURE.MODEL_REJECTED) });
      }
    }
    if (opened.length === 0) throw new CodedError(failed[0].code, failed[0].detail);
    const timings = Object.fromEntries(opened.map((o) => [o.backend, o.ms]));
    const winner = opened.find((o) => o.backend === fastest(timings));
    for (const o of opened) if (o !== winner) await o.session.release();
    await adopt(winner);
    return { backend: winner.backend, timings, failed };
  }

  async function load({ backend, manifest }) {
    const opened = await openSession(backend, manifest, new Map());
    await adopt(opened);
    return { backend, ms: opened.ms };
  }

  function setFault({ fault }) {
    if (!state.faultsEnabled) throw new Error('fault hooks are off (the page URL has no ?fault=)');
    state.fault = fault;
    if (fault === FAULTS.DEVICE_LOST) state.device?.destroy();
    // Escapes every handler: the worker's own error listener reports it, as a real crash would.
    if (fault === FAULTS.WORKER_ERROR) setTimeout(() => { throw new Error('injected fault: worker-error'); });
    return { fault };
  }

  async function run({ runId, slot, input }) {
    if (state.fault === FAULTS.WORKER_EXITS) {
      scope.close(); // a silent death, as when the browser kills a worker: no reply, no error event
      return;
    }
    const started = performance.now();
    try {
      if (input) state.input.set(input);
      if (state.fault === FAULTS.INFERENCE_THROWS) throw new Error('injected fault: inference-throws');
      const { session, feeds, fetches, layout } = state.current;
      writeMask((await session.run(feeds, fetches))[layout.name], layout, state.masks[slot]);
    } catch (error) {
      post({ op: OP.RUN_FAILED, runId, ...describe(error, FAILURE.INFERENCE_FAILED) });
      return;
    }
    resultMessage.runId = runId;
    resultMessage.slot = slot;
    resultMessage.inferenceMs = performance.now() - started;
    resultMessage.mask = state.shared ? null : state.masks[slot];
    if (state.fault === FAULTS.SLOW_INFERENCE) await sleep(state.resultTimeoutMs * SLOW_FAULT_FACTOR);
    if (state.fault === FAULTS.DELAYED_INFERENCE) await sleep(DELAYED_FAULT_MS);
    post(resultMessage);
  }

  const handlers = {
    [OP.INIT]: init,
    [OP.CHOOSE]: choose,
    [OP.LOAD]: load,
    [OP.FAULT]: setFault,
  };

  async function reply(message) {
    try {
      const value = await handlers[message.op](message);
      post({ op: OP.REPLY, id: message.id, ok: true, value });
    } catch (error) {
      post({ op: OP.REPLY, id: message.id, ok: false, ...describe(error, FAILURE.MODEL_REJECTED) });
    }
  }

  scope.addEventListener('message', ({ data }) => {
    if (data.op === OP.RUN) run(data);
    else reply(data);
  });
  // Anything that escapes the handlers above leaves the worker in an unknown state: tell the page.
  scope.addEventListener('error', (event) => fail(FAILURE.WORKER_DIED, String(event.message ?? event)));
  scope.addEventListener('unhandledrejection', (event) => fail(FAILURE.WORKER_DIED, String(event.reason?.message ?? event.reason)));
}

startWorker(globalThis);
