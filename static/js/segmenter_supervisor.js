/** Keep a segmenter alive: create it, hand it to the session, and after a failure (worker died,
 * device lost, model failed to load) try again with growing pauses. While there is none the
 * session fails closed (blurred picture). */
import { createSegmenter } from './segmenter/segmenter.js';

const RETRY_DELAYS_MS = [1000, 2000, 5000, 10_000]; // then every 10 s
// A WebGPU device loss is a reason to stay on WASM: the GPU driver just showed it is unreliable.
const FALLBACK_BACKEND = 'wasm';

export function createSegmenterSupervisor({ ortBase, manifest, manifestFp32, onReady, onLost, onProblem }) {
  // fault: a test fault set while running (undefined: the page URL's, see segmenter/protocol.js)
  // lostWhileRunning: the last problem came from a running segmenter, so only a mask clears it.
  const state = {
    segmenter: null, backend: 'auto', attempt: 0, timer: 0, disposed: false, generation: 0, fault: undefined,
    lostWhileRunning: false,
  };

  async function connect() {
    const generation = ++state.generation;
    try {
      const fault = state.fault === undefined ? {} : { fault: state.fault };
      const segmenter = await createSegmenter({ ortBase, manifest, manifestFp32, backend: state.backend, ...fault });
      if (state.disposed || generation !== state.generation) {
        segmenter.dispose();
        return;
      }
      segmenter.onfailure = (error) => lose(segmenter, error);
      state.segmenter = segmenter;
      state.attempt = 0;
      // After a failed load, being ready is the news. After a segmenter died mid-run, a new one may
      // die the same way on its first inference: the message stays until masks flow (session.js).
      if (!state.lostWhileRunning) onProblem(null);
      onReady(segmenter);
    } catch (error) {
      if (state.disposed || generation !== state.generation) return;
      state.lostWhileRunning = false;
      onProblem(error);
      scheduleRetry();
    }
  }

  function lose(segmenter, error) {
    if (state.segmenter !== segmenter) return;
    state.segmenter = null;
    segmenter.dispose();
    if (segmenter.backend === 'webgpu') state.backend = FALLBACK_BACKEND;
    state.lostWhileRunning = true;
    onLost(error);
    onProblem(error);
    scheduleRetry();
  }

  function scheduleRetry() {
    clearTimeout(state.timer);
    const delay = RETRY_DELAYS_MS[Math.min(state.attempt, RETRY_DELAYS_MS.length - 1)];
    state.attempt += 1;
    state.timer = setTimeout(connect, delay);
  }

  return {
    get segmenter() { return state.segmenter; },
    /** Start with `backend` ('auto', 'wasm' or 'webgpu'). */
    start(backend) {
      state.backend = backend;
      connect();
    },
    /** Switch backend while running (UI). The session has no segmenter until the new one is ready,
     * so the picture is fully blurred meanwhile (the old masks are not trusted for that long). */
    async switchBackend(backend) {
      state.backend = backend;
      if (!state.segmenter) return;
      const segmenter = state.segmenter;
      onLost(null);
      if (backend === 'auto') {
        state.segmenter = null;
        segmenter.dispose();
        await connect();
        return;
      }
      try {
        await segmenter.switchBackend(backend);
        onProblem(null);
      } catch (error) {
        onProblem(error);
      }
      // Back to the session, on the new backend or, when that failed, the old one: its masks say
      // whether it works (a run that fails keeps the picture blurred).
      if (state.segmenter === segmenter) onReady(segmenter);
    },
    /** Test-only (with ?fault= in the URL): set or clear (null) a fault, for this segmenter and the
     * ones that replace it, so a cleared fault stays cleared after a restart. */
    setFault(fault) {
      state.fault = fault;
      // A segmenter that is failing right now is being replaced; the new one starts with `fault`.
      return state.segmenter?.setFault?.(fault)?.catch(() => {});
    },
    dispose() {
      state.disposed = true;
      clearTimeout(state.timer);
      state.segmenter?.dispose();
      state.segmenter = null;
    },
  };
}
