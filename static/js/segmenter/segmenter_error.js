/** What can go wrong with segmentation, in words a user can act on ({title, advice}, like CameraError). */

// The worker cannot send Error objects with extra fields across postMessage, so it sends one of these
// codes plus the runtime's own message (`detail`) and the page turns them into words here.
export const FAILURE = Object.freeze({
  RUNTIME_MISSING: 'runtime-missing',
  MODEL_MISSING: 'model-missing',
  MODEL_DOWNLOAD: 'model-download',
  MODEL_DAMAGED: 'model-damaged',
  MODEL_REJECTED: 'model-rejected',
  BAD_MANIFEST: 'bad-manifest',
  BACKEND_UNAVAILABLE: 'backend-unavailable',
  INFERENCE_FAILED: 'inference-failed',
  LATE: 'late',
  WORKER_DIED: 'worker-died',
  DEVICE_LOST: 'device-lost',
  BUSY: 'busy',
  DISPOSED: 'disposed',
});

const RELOAD = 'Reload the page.';
const REINSTALL = 'Run the setup command again on the server (it installs the model), then reload the page.';

const WORDS = {
  [FAILURE.RUNTIME_MISSING]: ['The segmentation runtime did not load.',
    `${RELOAD} If it keeps failing, the server is missing onnxruntime-web: run the setup command again.`],
  [FAILURE.MODEL_MISSING]: ['The segmentation model is missing on the server.', REINSTALL],
  [FAILURE.MODEL_DOWNLOAD]: ['The segmentation model could not be downloaded.',
    `Check that the server is still running and reachable. ${RELOAD}`],
  [FAILURE.MODEL_DAMAGED]: ['The segmentation model file is damaged.',
    `Its contents do not match its manifest. ${REINSTALL}`],
  [FAILURE.MODEL_REJECTED]: ['The segmentation model could not be opened.',
    `The runtime rejected the file; it may be corrupt or made for another version. ${REINSTALL}`],
  [FAILURE.BAD_MANIFEST]: ['The segmentation model does not fit this page.',
    `Its manifest describes an input or output this page cannot use. ${REINSTALL}`],
  [FAILURE.BACKEND_UNAVAILABLE]: ['That segmentation backend is not available in this browser.',
    'Use WASM, which works everywhere; WebGPU needs a browser and graphics driver that support it.'],
  [FAILURE.INFERENCE_FAILED]: ['Segmentation failed.',
    'The picture stays hidden behind the background until it works again. If this keeps happening, '
      + 'switch the segmentation backend (WASM is the safest), or reload the page.'],
  [FAILURE.LATE]: ['Segmentation is running late.',
    'The picture stays hidden behind the background until it catches up. Close other heavy tabs or '
      + 'programs, or switch the segmentation backend.'],
  [FAILURE.WORKER_DIED]: ['Segmentation stopped.',
    'Its background worker ended unexpectedly, often from low memory. Close other heavy tabs; if it '
      + 'does not come back by itself, reload the page.'],
  [FAILURE.DEVICE_LOST]: ['The graphics device used for segmentation was lost.',
    'This happens when a graphics driver restarts or the computer sleeps. Choose WASM as the '
      + 'segmentation backend (it runs on the processor), or reload the page.'],
  [FAILURE.BUSY]: ['Segmentation is still working on the previous frame.',
    'This is a bug in the page: it must wait until segmenter.busy is false before starting a run.'],
  [FAILURE.DISPOSED]: ['Segmentation was shut down.', RELOAD],
};

export class SegmenterError extends Error {
  /** @param {string} code one of FAILURE @param {string} [detail] the runtime's own words, for diagnostics */
  constructor(code, detail = '', cause = undefined) {
    const [title, advice] = WORDS[code] ?? WORDS[FAILURE.INFERENCE_FAILED];
    super(detail ? `${title} ${advice} (${detail})` : `${title} ${advice}`);
    this.name = 'SegmenterError';
    this.code = code;
    this.title = title;
    this.advice = advice;
    this.detail = detail;
    this.cause = cause;
  }
}

/** A SegmenterError from what the worker posted: {code, detail}. */
export function errorFromWorker({ code, detail }) {
  return new SegmenterError(code, detail);
}
