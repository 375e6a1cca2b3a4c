/** A lost WebGL context, and its return. The GPU process can drop the context (driver reset, too
 * many contexts, a test's WEBGL_lose_context). Nothing is drawn meanwhile, so an outgoing stream
 * holds its last composited frame; once restored, every stage is rebuilt and the picture stays fully
 * blurred until a new mask arrives. */
import { UserError } from '../user_error.js';

/**
 * @param {HTMLCanvasElement} canvas
 * @param {{compositor, message, onRestored: (pipeline) => void}} options
 *   onRestored: hand the rebuilt pipeline what lived in the old one (the background picture).
 */
export function recoverLostGraphics(canvas, { compositor, message, onRestored }) {
  canvas.addEventListener('webglcontextlost', (event) => {
    event.preventDefault(); // without this the browser never restores the context
    compositor.loseGraphics();
    message.show('graphics', new UserError('The graphics were reset.', 'Restoring them; the shared picture holds its last frame meanwhile.'));
  });
  canvas.addEventListener('webglcontextrestored', () => {
    onRestored(compositor.restoreGraphics());
    message.clear('graphics');
  });
}
