/** The segmenter stage: person masks from onnxruntime-web, computed in a worker so rendering never waits.
 *
 *   const segmenter = await createSegmenter({ ortBase, manifest, manifestFp32, backend: 'auto', resultTimeoutMs });
 *   if (!segmenter.busy) {
 *     fill(segmenter.input);                        // Float32Array(3*H*W), NCHW, normalised per the manifest
 *     const { mask } = await segmenter.run(frameId); // Float32Array(H*W), person probability in [0, 1]
 *   }
 *
 * When the page is cross-origin isolated and the engine has SharedArrayBuffer, `input` and the two mask
 * buffers are SharedArrayBuffers the worker reads and writes in place; otherwise they are copied through
 * postMessage (same interface).
 * A mask stays valid until the run after the next successful one starts (masks alternate between two
 * buffers, and a run never writes into the buffer of the latest successful mask).
 *
 * Test-only fault hook: OFF unless the page URL has `?fault=NAME` (see FAULTS in protocol.js:
 * inference-throws, slow-inference, delayed-inference, worker-error, worker-exits, device-lost, model-404,
 * model-corrupt; `?fault=off`
 * enables the hook with no fault). Then `segmenter.setFault(NAME | null)` exists and changes the fault
 * while running, and `createSegmenter({fault})` overrides the URL's fault for that segmenter.
 * `?backend=wasm|webgpu` in the page URL overrides the backend choice. */
import { OP, faultFromUrl } from './protocol.js';
import { FAILURE, SegmenterError, errorFromWorker } from './segmenter_error.js';
import { AUTO, BACKENDS, REASON, backendFromUrl, planBackend } from './backend_choice.js';

export { SegmenterError } from './segmenter_error.js';

// A mask older than this shows the person where they were, not where they are: the caller fails closed.
export const DEFAULT_RESULT_TIMEOUT_MS = 500;
// Threads beyond this gain little for a ~100K-parameter model and take cores from rendering.
const MAX_WASM_THREADS = 4;
const CORES_FOR_RENDERING = 1; // the page's main thread and the compositor need a core of their own
// A run still unanswered after this many result timeouts means the worker hung or died silently.
const STALL_FACTOR = 4;
const MIN_STALL_MS = 2000; // a loaded machine can take a few hundred ms for one run: that is not dead
const WORKER_URL = new URL('./segmenter_worker.js', import.meta.url);
const MASK_BUFFERS = 2; // double buffering: one being written, one held by the caller

/** Whether this page can share memory with workers: cross-origin isolated, and the engine has
 * SharedArrayBuffer even then (WebKitGTK leaves it out unless JSC_useSharedArrayBuffer=1). */
export function canShareMemory() {
  return globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
}

/** WASM threads for this browser: up to MAX_WASM_THREADS, one core left for rendering; 1 without shared memory. */
export function defaultThreads(shared = canShareMemory()) {
  if (!shared) return 1; // threads need SharedArrayBuffer
  return Math.max(1, Math.min(MAX_WASM_THREADS, (navigator.hardwareConcurrency || 1) - CORES_FOR_RENDERING));
}

function sameNumbers(a, b) {
  return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The input and mask sizes both manifests agree on; throws BAD_MANIFEST when they cannot share buffers. */
function checkManifests(manifest, manifestFp32) {
  const { input, output } = manifest;
  const shape = input?.shape;
  if (!Array.isArray(shape) || shape.length !== 4 || shape[0] !== 1 || shape[1] !== 3
      || (input.layout ?? 'NCHW') !== 'NCHW' || !output?.name) {
    throw new SegmenterError(FAILURE.BAD_MANIFEST, `expected an NCHW input of shape [1, 3, H, W], got ${input?.layout} [${shape}]`);
  }
  const other = manifestFp32.input;
  if (!sameNumbers(other?.shape, shape) || other.scale !== input.scale
      || !sameNumbers(other.mean, input.mean) || !sameNumbers(other.std, input.std)) {
    throw new SegmenterError(FAILURE.BAD_MANIFEST, 'the fp32 and the main model differ in input size or normalisation');
  }
  const [, , height, width] = shape;
  return { inputShape: shape, inputLength: 3 * height * width, maskLength: height * width };
}

/** The worker's buffers: shared with it (SharedArrayBuffer) when possible, else private to the page. */
function allocateBuffers({ inputLength, maskLength }, shareMemory) {
  const Buffer = shareMemory ? SharedArrayBuffer : ArrayBuffer;
  const input = new Float32Array(new Buffer(inputLength * Float32Array.BYTES_PER_ELEMENT));
  const masks = Array.from({ length: MASK_BUFFERS },
    () => new Float32Array(new Buffer(maskLength * Float32Array.BYTES_PER_ELEMENT)));
  return { input, masks, shared: shareMemory ? { input, masks } : null };
}

class Segmenter {
  #options; // what createSegmenter was given, resolved (manifests, threads, timeouts, fault)
  #buffers;
  #worker = null;
  #calls = new Map(); // request id -> {resolve, reject}
  #nextCallId = 1;
  #available = ['wasm']; // backends the worker found
  #softwareWebgpu = false; // the WebGPU adapter is a CPU emulation
  #backend = null;
  #choice = null;
  #failure = null; // the SegmenterError that stopped the worker, until a restart
  #disposed = false;
  #switching = false;
  #idleWaiters = []; // resolved when the run in flight settles (switchBackend waits for it)
  // The run in flight: one at a time, so plain fields instead of an object per run.
  #running = false;
  #late = false;
  #runId = 0;
  #frameId = 0;
  #runStarted = 0;
  #resolve = null;
  #reject = null;
  #timer = 0;
  #goodSlot = MASK_BUFFERS - 1; // the buffer of the latest successful mask; runs write the other one
  #runMessage = { op: OP.RUN, runId: 0, slot: 0, input: null }; // cloned by postMessage, so reusable

  /** Called with a SegmenterError when the worker dies or the WebGPU device is lost (fail closed). */
  onfailure = null;

  constructor(options, buffers) {
    this.#options = options;
    this.#buffers = buffers;
    if (options.faultsEnabled) {
      /** Test-only (present with ?fault= in the page URL): set or clear (null) an injected fault. */
      this.setFault = async (fault) => {
        this.#options.fault = fault; // a restarted worker starts with the fault last set
        if (!this.#failure) await this.#call(OP.FAULT, { fault });
      };
    }
  }

  /** A started segmenter with its backend chosen (see createSegmenter), or a SegmenterError. */
  static async open(options, buffers, { requested, urlBackend }) {
    const segmenter = new Segmenter(options, buffers);
    try {
      await segmenter.#start();
      await segmenter.#choose(requested, urlBackend);
    } catch (error) {
      segmenter.dispose();
      throw error instanceof SegmenterError ? error : new SegmenterError(FAILURE.WORKER_DIED, String(error?.message ?? error), error);
    }
    return segmenter;
  }

  /** The backend in use: 'wasm' or 'webgpu'. */
  get backend() { return this.#backend; }

  /**
   * Why that backend: {reason: 'measured'|'url'|'user'|'only-option', timings: {backend: median ms},
   * unavailable: backend asked for but missing | null, skipped: {backend: why it was not measured}}.
   */
  get choice() { return this.#choice; }

  /** Float32Array(3*H*W), NCHW: the caller writes the next frame here while `busy` is false. */
  get input() { return this.#buffers.input; }

  /** True while a run is in flight or the session is being (re)created: do not write `input` or call run(). */
  get busy() { return this.#running || this.#switching; }

  /** Backends this browser can use (WebGPU only with an adapter). */
  get available() { return [...this.#available]; }

  async #start() {
    this.#worker = new Worker(WORKER_URL, { type: 'module' });
    this.#worker.addEventListener('message', this.#onMessage);
    this.#worker.addEventListener('error', this.#onWorkerError);
    this.#worker.addEventListener('messageerror', this.#onWorkerError);
    const { ortBase, threads, layout, faultsEnabled, fault, resultTimeoutMs } = this.#options;
    const { backends, softwareWebgpu } = await this.#call(OP.INIT, {
      ortBase, threads, shared: this.#buffers.shared, inputShape: layout.inputShape, maskLength: layout.maskLength,
      faultsEnabled, fault, resultTimeoutMs,
    });
    this.#available = backends;
    this.#softwareWebgpu = softwareWebgpu;
  }

  async #choose(requested, urlBackend) {
    const plan = planBackend({ requested, urlBackend, available: this.#available, softwareWebgpu: this.#softwareWebgpu });
    const { backend, timings, failed } = await this.#call(OP.CHOOSE, { candidates: plan.candidates, manifests: this.#options.manifests });
    const measured = Object.keys(timings).length > 1;
    const reason = plan.reason === REASON.MEASURED && !measured ? REASON.ONLY_OPTION : plan.reason;
    this.#backend = backend;
    // A candidate that failed to load (e.g. an adapter that cannot run the model) is skipped, with why.
    const skipped = { ...plan.skipped, ...Object.fromEntries(failed.map((f) => [f.backend, f.detail])) };
    this.#choice = { reason, timings, unavailable: plan.unavailable, skipped };
  }

  /** Start inference on the current `input`; resolves {frameId, mask, inferenceMs, totalMs}. Throws at once if busy. */
  run(frameId) {
    if (this.#disposed) throw new SegmenterError(FAILURE.DISPOSED);
    if (this.busy) throw new SegmenterError(FAILURE.BUSY);
    if (this.#failure) return Promise.reject(this.#failure);
    this.#running = true;
    this.#late = false;
    this.#runId += 1;
    this.#frameId = frameId;
    this.#runStarted = performance.now();
    this.#runMessage.runId = this.#runId;
    this.#runMessage.slot = (this.#goodSlot + 1) % MASK_BUFFERS;
    if (!this.#buffers.shared) this.#runMessage.input = this.#buffers.input;
    this.#worker.postMessage(this.#runMessage);
    this.#timer = setTimeout(this.#onLate, this.#options.resultTimeoutMs);
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Re-create the session on `name` ('wasm' | 'webgpu'); also restarts a worker that failed. */
  async switchBackend(name) {
    if (this.#disposed) throw new SegmenterError(FAILURE.DISPOSED);
    if (!BACKENDS.includes(name)) throw new TypeError(`unknown backend ${name}; expected one of ${BACKENDS}`);
    if (this.#switching) throw new SegmenterError(FAILURE.BUSY, 'a backend switch is already in progress');
    this.#switching = true;
    try {
      if (this.#running) await new Promise((resolve) => this.#idleWaiters.push(resolve));
      if (this.#failure) {
        this.#stopWorker();
        this.#failure = null;
        await this.#start();
      }
      if (!this.#available.includes(name)) {
        throw new SegmenterError(FAILURE.BACKEND_UNAVAILABLE, `${name} is not available here`);
      }
      const { ms } = await this.#call(OP.LOAD, { backend: name, manifest: this.#options.manifests[name] });
      this.#backend = name;
      this.#choice = { reason: REASON.USER, timings: { ...this.#choice?.timings, [name]: ms }, unavailable: null, skipped: {} };
    } finally {
      this.#switching = false;
    }
  }

  /** Stop the worker and reject whatever is pending; the segmenter cannot be used afterwards. */
  dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#abandon(new SegmenterError(FAILURE.DISPOSED));
  }

  #call(op, payload) {
    if (this.#disposed) return Promise.reject(new SegmenterError(FAILURE.DISPOSED));
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextCallId++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject });
      this.#worker.postMessage({ op, id, ...payload });
    });
  }

  #onMessage = ({ data }) => {
    switch (data.op) {
      case OP.REPLY: {
        const call = this.#calls.get(data.id);
        if (!call) return;
        this.#calls.delete(data.id);
        if (data.ok) call.resolve(data.value);
        else call.reject(errorFromWorker(data));
        return;
      }
      case OP.RESULT:
      case OP.RUN_FAILED:
        this.#settleRun(data);
        return;
      case OP.FAILURE:
        this.#fail(errorFromWorker(data));
        return;
      default:
    }
  };

  #onWorkerError = (event) => {
    event.preventDefault?.();
    this.#fail(new SegmenterError(FAILURE.WORKER_DIED, String(event.message ?? 'the worker reported an error')));
  };

  #onLate = () => {
    // The caller fails closed now; the worker gets STALL_FACTOR timeouts in all before it is declared dead.
    this.#late = true;
    this.#reject(new SegmenterError(FAILURE.LATE, `no mask within ${this.#options.resultTimeoutMs} ms`));
    this.#timer = setTimeout(this.#onStalled, this.#options.stallMs - this.#options.resultTimeoutMs);
  };

  #onStalled = () => {
    this.#fail(new SegmenterError(FAILURE.WORKER_DIED, `no answer from the worker for ${this.#options.stallMs} ms`));
  };

  #settleRun(data) {
    if (!this.#running || data.runId !== this.#runId) return;
    clearTimeout(this.#timer);
    const late = this.#late;
    this.#finishRun();
    if (late) return; // already rejected; its buffer is not the latest good one, so nothing to undo
    if (data.op === OP.RUN_FAILED) {
      this.#reject(errorFromWorker(data));
      return;
    }
    this.#goodSlot = data.slot;
    this.#resolve({
      frameId: this.#frameId,
      mask: data.mask ?? this.#buffers.masks[data.slot],
      inferenceMs: data.inferenceMs,
      totalMs: performance.now() - this.#runStarted,
    });
  }

  #finishRun() {
    this.#running = false;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** The worker cannot go on: stop it, reject everything pending and tell the caller (fail closed). */
  #fail(error) {
    if (this.#failure || this.#disposed) return;
    this.#failure = error;
    this.#abandon(error);
    this.onfailure?.(error);
  }

  #abandon(error) {
    this.#stopWorker();
    for (const call of this.#calls.values()) call.reject(error);
    this.#calls.clear();
    if (this.#running) {
      clearTimeout(this.#timer);
      const late = this.#late;
      this.#finishRun();
      if (!late) this.#reject(error);
    }
  }

  #stopWorker() {
    this.#worker?.terminate();
    this.#worker = null;
  }
}

/**
 * Start the worker, load the model and pick a backend; resolves to a ready segmenter or rejects with a
 * SegmenterError. `manifestFp32` (default: `manifest`) is used on WebGPU, where int8 gains nothing.
 * `backend`: 'auto' measures; 'wasm' | 'webgpu' is the caller's (UI) choice; ?backend= in the URL beats both.
 * Optional: `threads` (WASM threads, default defaultThreads()), `shareMemory` (default: canShareMemory();
 * false forces the copying transport), `fault` (test hook, see above), `search` (default location.search).
 */
export async function createSegmenter({
  ortBase,
  manifest,
  manifestFp32,
  backend = AUTO,
  resultTimeoutMs = DEFAULT_RESULT_TIMEOUT_MS,
  threads,
  shareMemory = canShareMemory(),
  fault,
  search = globalThis.location?.search ?? '',
}) {
  if (backend !== AUTO && !BACKENDS.includes(backend)) {
    throw new TypeError(`unknown backend ${backend}; expected auto or one of ${BACKENDS}`);
  }
  const fp32 = manifestFp32 ?? manifest;
  const layout = checkManifests(manifest, fp32);
  // SharedArrayBuffer exists only in a cross-origin isolated page (and not in every engine even then),
  // whatever the caller asked for: without it, buffers are copied through postMessage on one thread.
  const share = shareMemory && canShareMemory();
  const urlFault = faultFromUrl(search);
  const faultsEnabled = urlFault !== undefined;
  return Segmenter.open({
    ortBase,
    layout,
    manifests: { wasm: manifest, webgpu: fp32 },
    threads: share ? (threads ?? defaultThreads(true)) : 1,
    resultTimeoutMs,
    stallMs: Math.max(MIN_STALL_MS, STALL_FACTOR * resultTimeoutMs),
    faultsEnabled,
    fault: faultsEnabled ? (fault !== undefined ? fault : urlFault) : null,
  }, allocateBuffers(layout, share), { requested: backend, urlBackend: backendFromUrl(search) });
}
