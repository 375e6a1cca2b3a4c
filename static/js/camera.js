/** The camera: open a stream, and turn getUserMedia's failures into words a user can act on. */
import { UserError } from './user_error.js';
import { clipCameraFromUrl, openClipCamera } from './clip_camera.js';

export const DEFAULT_CAMERA = Object.freeze({
  width: 1280, // px, a common laptop webcam mode
  height: 720, // px
  frameRate: 30, // frames per second
});

/** A camera failure, in words (see describeCameraFailure). */
export class CameraError extends UserError {}

/** Map a DOMException from getUserMedia (or a missing API) to a CameraError. */
export function describeCameraFailure(error) {
  switch (error?.name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
      return new CameraError(
        'Camera access was denied.',
        'Allow the camera for this site (the camera icon in the address bar, or the browser\'s site settings), then press "Enable camera" again.',
        error,
      );
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return new CameraError(
        'No camera was found.',
        'Connect a camera (or enable it in your system settings), then press "Enable camera" again.',
        error,
      );
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return new CameraError(
        'The camera is in use or could not start.',
        'Close other apps or tabs that use the camera (video calls, recorders), then press "Enable camera" again.',
        error,
      );
    case 'SecurityError':
      return new CameraError(
        'The browser blocked the camera on this page.',
        'Open the page over https (start the server with --tls) or on localhost.',
        error,
      );
    default:
      return new CameraError(
        'The camera could not be opened.',
        `Try again, or try another browser. (${error?.name ?? 'Error'}: ${error?.message ?? error})`,
        error,
      );
  }
}

/** Open the camera; resolves to a MediaStream or rejects with a CameraError. */
export async function openCamera(constraints = DEFAULT_CAMERA, media = globalThis.navigator?.mediaDevices) {
  const clip = clipCameraFromUrl(globalThis.location?.search ?? '');
  if (clip) return openClipCamera(clip, constraints.frameRate);
  if (!media?.getUserMedia) {
    throw new CameraError(
      'This page cannot use a camera here.',
      window.isSecureContext
        ? 'This browser has no camera support; use a current Chrome, Edge, Firefox or Safari.'
        : 'Browsers allow the camera only on https or localhost: start the server with --tls and open its https address.',
    );
  }
  try {
    return await media.getUserMedia({
      audio: false,
      video: {
        width: { ideal: constraints.width },
        height: { ideal: constraints.height },
        frameRate: { ideal: constraints.frameRate },
        ...(constraints.deviceId ? { deviceId: { exact: constraints.deviceId } } : {}),
      },
    });
  } catch (error) {
    throw describeCameraFailure(error);
  }
}

/** Stop every track of a stream. */
export function closeCamera(stream) {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

/** The cameras the browser will name (labels appear once permission was granted). */
export async function listCameras(media = globalThis.navigator?.mediaDevices) {
  if (!media?.enumerateDevices) return [];
  const devices = await media.enumerateDevices();
  return devices
    .filter((device) => device.kind === 'videoinput')
    .map((device, index) => ({ deviceId: device.deviceId, label: device.label || `Camera ${index + 1}` }));
}
