/** Record the outgoing stream with MediaRecorder: WebM where the engine writes it, else MP4 (Safari and
 * WebKitGTK record MP4 only). */
import { UserError } from './user_error.js';

// VP9 is smaller at the same quality; VP8 is the fallback every WebM recorder has; MP4 for WebKit.
const MIME_TYPES = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm', 'video/mp4'];
const TIMESLICE_MS = 1000; // hand over data every second so a crash loses at most that much

export const EMPTY_TITLE = 'This browser recorded no video.';
const EMPTY_ADVICE = 'Its video recorder produced an empty file (WebKitGTK does this without a working video encoder). '
  + 'Take snapshots instead, or record in Chrome, Edge, Firefox or Safari.';

export class RecordingError extends UserError {}

/** A recorder of `stream`; `stop()` resolves to a WebM (or MP4) Blob, or rejects with a RecordingError
 * when the browser recorded nothing. */
export function startRecording(stream) {
  if (typeof MediaRecorder === 'undefined') {
    throw new RecordingError('This browser cannot record video.', 'Use a current Chrome, Edge or Firefox to record, or take snapshots instead.');
  }
  const mimeType = MIME_TYPES.find((type) => MediaRecorder.isTypeSupported(type));
  if (!mimeType) {
    throw new RecordingError('This browser cannot record WebM or MP4 video.', 'Use a current Chrome, Edge, Firefox or Safari to record, or take snapshots instead.');
  }
  const container = mimeType.split(';')[0]; // 'video/webm' or 'video/mp4'
  const chunks = [];
  const recorder = new MediaRecorder(stream, { mimeType });
  recorder.addEventListener('dataavailable', (event) => {
    if (event.data.size) chunks.push(event.data);
  });
  const stopped = new Promise((resolve, reject) => {
    recorder.addEventListener('stop', () => {
      // WebKitGTK without a working GStreamer encoder accepts the type, starts, and hands over only
      // empty data (measured: every source and codec, 0 bytes): say so instead of saving an empty file.
      if (!chunks.length) reject(new RecordingError(EMPTY_TITLE, EMPTY_ADVICE));
      else resolve(new Blob(chunks, { type: container }));
    });
    recorder.addEventListener('error', (event) => reject(new RecordingError('Recording stopped with an error.', 'Try again; if it keeps failing, lower the resolution.', event.error)));
  });
  recorder.start(TIMESLICE_MS);
  const startedAt = performance.now();
  return {
    mimeType,
    /** The file name extension of what stop() resolves to: 'webm' or 'mp4'. */
    extension: container === 'video/mp4' ? 'mp4' : 'webm',
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
