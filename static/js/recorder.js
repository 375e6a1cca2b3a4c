/** Record the outgoing stream to a WebM file with MediaRecorder. */
import { UserError } from './user_error.js';

// VP9 is smaller at the same quality; VP8 is the fallback every WebM recorder has.
const MIME_TYPES = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm'];
const TIMESLICE_MS = 1000; // hand over data every second so a crash loses at most that much

export class RecordingError extends UserError {}

/** A recorder of `stream`; `stop()` resolves to a WebM Blob. */
export function startRecording(stream) {
  if (typeof MediaRecorder === 'undefined') {
    throw new RecordingError('This browser cannot record video.', 'Use a current Chrome, Edge or Firefox to record, or take snapshots instead.');
  }
  const mimeType = MIME_TYPES.find((type) => MediaRecorder.isTypeSupported(type));
  if (!mimeType) {
    throw new RecordingError('This browser cannot record WebM video.', 'Use a current Chrome, Edge or Firefox to record, or take snapshots instead.');
  }
  const chunks = [];
  const recorder = new MediaRecorder(stream, { mimeType });
  recorder.addEventListener('dataavailable', (event) => {
    if (event.data.size) chunks.push(event.data);
  });
  const stopped = new Promise((resolve, reject) => {
    recorder.addEventListener('stop', () => resolve(new Blob(chunks, { type: 'video/webm' })));
    recorder.addEventListener('error', (event) => reject(new RecordingError('Recording stopped with an error.', 'Try again; if it keeps failing, lower the resolution.', event.error)));
  });
  recorder.start(TIMESLICE_MS);
  const startedAt = performance.now();
  return {
    mimeType,
    get elapsedMs() { return performance.now() - startedAt; },
    stop() {
      if (recorder.state !== 'inactive') recorder.stop();
      return stopped;
    },
  };
}

/** Offer a Blob as a download named `filename`. */
export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
