/** The per-frame render path: camera texture -> (later: mask, refinement, compositing) -> canvas. */
import { createGraphicsContext } from './gl/context.js';
import { buildCameraStage } from './gl/stages/camera_stage.js';
import { buildOutputStage } from './gl/stages/output_stage.js';

export function createPipeline(canvas) {
  const context = createGraphicsContext(canvas);
  const camera = buildCameraStage(context);
  const output = buildOutputStage(context);

  return {
    /** Draw the video's current frame; the canvas follows the camera's resolution. */
    render(video) {
      if (!video.videoWidth) return false;
      if (canvas.width !== video.videoWidth || canvas.height !== video.videoHeight) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
      }
      camera.update(video);
      output.render(camera.texture);
      return true;
    },
    cleanUp() {
      output.cleanUp();
      camera.cleanUp();
      context.cleanUp();
    },
  };
}
