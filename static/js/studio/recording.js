/** Snapshots (PNG of the next composited frame) and recordings (WebM, or MP4 where the browser records only that, of the outgoing stream),
 * downloaded with a timestamped name. */
import { startRecording, download } from '../recorder.js';

/** A file name safe on every system: `vbg-2024-05-01T10-20-30-123Z.png`. */
function timestampedName(extension) {
  return `vbg-${new Date().toISOString().replace(/[:.]/g, '-')}.${extension}`;
}

/**
 * @param {{session: () => object|null, outputStream: () => MediaStream|null, message,
 *   onRecordingChange: (recording: boolean) => void}} options
 */
export function createRecording({ session, outputStream, message, onRecordingChange }) {
  let recorder = null; // the recording in progress

  async function stop() {
    const finishing = recorder;
    recorder = null;
    onRecordingChange(false);
    try {
      download(await finishing.stop(), timestampedName(finishing.extension));
    } catch (error) {
      message.show('recording', error);
    }
  }

  function start() {
    try {
      recorder = startRecording(outputStream());
      message.clear('recording');
      onRecordingChange(true);
    } catch (error) {
      message.show('recording', error);
    }
  }

  return {
    /** Download a PNG of the next composited frame (nothing before the camera ran). */
    async snapshot() {
      const running = session();
      if (!running) return;
      const blob = await running.snapshot();
      if (blob) download(blob, timestampedName('png'));
    },
    /** Start recording, or stop and download the recording. */
    toggle() {
      return recorder ? stop() : start();
    },
  };
}
