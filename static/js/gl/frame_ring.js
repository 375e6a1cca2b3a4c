/** A small ring of camera frames on the GPU, allocated once: each frame waits in its slot (the
 * full-size camera picture and its model-size copy) until its own mask arrives, so the compositor
 * can draw frame k with the mask computed from frame k (session.js decides which slot is in use). */
import { buildCameraStage } from './stages/camera_stage.js';
import { createRenderTarget } from './render_target.js';

// At most three slots are held at once (the frame being segmented, the newest frame waiting for
// the segmenter, the last composited frame, whose model-size copy guides temporal smoothing); one
// more is always free for the next camera frame.
export const RING_SLOTS = 4;

export function createFrameRing(context, { width, height }) {
  const { gl } = context;
  const slots = Array.from({ length: RING_SLOTS }, (_, index) => ({
    index,
    cameraStage: buildCameraStage(context),
    camera: null, // the full-size frame's texture, once a frame was uploaded
    small: createRenderTarget(gl, width, height, 'rgba8'),
    serial: 0, // camera frames counted by the session; 0 = empty
    arrivedAt: 0, // performance.now() when the frame was uploaded, ms
    capturedAt: Number.NaN, // camera capture time from requestVideoFrameCallback, ms (NaN if unknown)
    code: -1, // benchmark probe: the clip frame index read from the frame
    uploadMs: 0, // JS time spent taking the frame in, ms
  }));
  let cameraWidth = 0; // the size every slot's camera texture is allocated for, px
  let cameraHeight = 0;

  return {
    slots,
    /** The first slot that is none of the three held ones (null entries are ignored). */
    acquire(heldA, heldB, heldC) {
      for (const slot of slots) {
        if (slot !== heldA && slot !== heldB && slot !== heldC) return slot;
      }
      throw new Error('the frame ring has no free slot'); // cannot happen with RING_SLOTS > 3 held
    },
    /** Copy the video's current frame into `slot`. A new camera size (re)allocates every slot at once,
     * so a slot first used later (the fourth, only when three are held) allocates nothing mid-stream. */
    upload(slot, video) {
      if (video.videoWidth !== cameraWidth || video.videoHeight !== cameraHeight) {
        cameraWidth = video.videoWidth;
        cameraHeight = video.videoHeight;
        for (const each of slots) each.cameraStage.allocate(cameraWidth, cameraHeight);
      }
      slot.camera = slot.cameraStage.render(video);
    },
    cleanUp() {
      for (const slot of slots) {
        slot.cameraStage.cleanUp();
        slot.small.cleanUp();
      }
    },
  };
}
