/** Start and stop the camera for a session: open it, feed the session, and notice when it stops
 * (unplugged, taken by another app). What the page shows meanwhile is the caller's (`ui`). */
import { openCamera, closeCamera, CameraError } from '../camera.js';
import { withDeadline } from '../deadline.js';

const CAMERA_FRAME_RATE = 30; // fps asked of the camera
// From an open camera to its first picture playing. Cameras wake in a second or two; one that sends
// nothing this long is stuck (a driver, another app), and waiting on "starting…" would tell nobody.
const FIRST_PICTURE_DEADLINE_MS = 20000;

/**
 * @param {{video: HTMLVideoElement, prepare: () => Promise<object>, request: () => object, ui: object}} options
 *   video: plays the raw camera (never sent anywhere); prepare: resolves the session to feed (waits
 *   for what it needs, the model's manifest); request: {width, height, deviceId} to ask for;
 *   ui: {starting(), started(track), stopped(), failed(error), lost(error)}; `lost`: a running camera stopped.
 * @param {number} [firstPictureDeadlineMs] how long an open camera may take to send its first picture
 */
export function createCameraControl({ video, prepare, request, ui, firstPictureDeadlineMs = FIRST_PICTURE_DEADLINE_MS }) {
  let stream = null;
  let track = null;
  let session = null;

  function stop() {
    session?.stop();
    closeCamera(stream);
    stream = null;
    track = null;
    video.srcObject = null;
    ui.stopped();
  }

  async function start() {
    ui.starting();
    try {
      session = await prepare();
      if (stream) stop();
      const { width, height, deviceId } = request();
      stream = await openCamera({ width, height, frameRate: CAMERA_FRAME_RATE, deviceId: deviceId || undefined });
      [track] = stream.getVideoTracks();
      track.addEventListener('ended', () => {
        stop();
        ui.lost(new CameraError('The camera stopped.', 'It was unplugged or taken by another app. Reconnect it, then press "Enable camera".'));
      });
      video.srcObject = stream;
      await withDeadline(video.play(), firstPictureDeadlineMs, () => new CameraError(
        'The camera sent no picture.',
        `Nothing came in ${firstPictureDeadlineMs / 1000} s. Close other apps or tabs that use the camera, or reconnect it, then press "Enable camera" again.`,
      ));
      session.start(track);
      await ui.started(track);
    } catch (error) {
      closeCamera(stream);
      stream = null;
      track = null;
      video.srcObject = null;
      ui.failed(error);
    }
  }

  return {
    start,
    stop,
    get running() { return stream !== null; },
    /** The camera's video track while it runs (null otherwise). */
    get track() { return track; },
  };
}
