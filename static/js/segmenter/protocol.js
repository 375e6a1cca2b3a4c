/** The messages between segmenter.js (page) and segmenter_worker.js, and the test-only faults. */

// page -> worker: `{op, id?, ...}`; worker -> page: replies carry the request's id, run results the runId.
export const OP = Object.freeze({
  INIT: 'init', // {id, ortBase, threads, shared: {input, masks} | null, inputShape, ...}: resolves {backends}
  LOAD: 'load', // {id, backend, manifest}: create, check, warm up and time a session, then use it
  CHOOSE: 'choose', // {id, candidates, manifests}: load each candidate, keep the fastest
  RUN: 'run', // {runId, slot, input?}: input only when memory is not shared
  FAULT: 'fault', // {id, fault}: set or clear (null) a test fault
  REPLY: 'reply', // {id, ok, value | code, detail}
  RESULT: 'result', // {runId, slot, inferenceMs, mask?}: mask only when memory is not shared
  RUN_FAILED: 'run-failed', // {runId, code, detail}
  FAILURE: 'failure', // {code, detail}: the worker cannot go on (device lost, uncaught error)
});

/**
 * Test-only faults, active only when the page URL has `?fault=NAME` (`?fault=off` enables the hook
 * with no fault active). segmenter.setFault(NAME | null) then changes the fault while running.
 */
export const FAULTS = Object.freeze({
  INFERENCE_THROWS: 'inference-throws', // every run throws inside the worker
  SLOW_INFERENCE: 'slow-inference', // results arrive after resultTimeoutMs (the worker stays alive)
  DELAYED_INFERENCE: 'delayed-inference', // results arrive a few camera frames late, well inside resultTimeoutMs
  WORKER_ERROR: 'worker-error', // the worker reports an uncaught error at once, busy or idle (and fails to start)
  WORKER_EXITS: 'worker-exits', // the worker closes itself when the next run arrives (a silent crash)
  DEVICE_LOST: 'device-lost', // destroys the WebGPU device now (WASM sessions are unaffected)
  MODEL_404: 'model-404', // model downloads ask for a URL that does not exist
  MODEL_CORRUPT: 'model-corrupt', // downloaded model bytes are damaged before they are checked
});

/** The fault the page URL asks for: undefined when hooks are off, null for `?fault=off`. */
export function faultFromUrl(search) {
  const params = new URLSearchParams(search);
  if (!params.has('fault')) return undefined;
  const name = params.get('fault');
  return Object.values(FAULTS).includes(name) ? name : null;
}
