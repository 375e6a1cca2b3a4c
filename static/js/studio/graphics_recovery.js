/** A lost WebGL context, and its return. The GPU process can drop the context (driver reset, too
 * many contexts, a test's WEBGL_lose_context). Nothing is drawn meanwhile, so an outgoing stream
 * holds its last composited frame; once restored, every stage is rebuilt and the picture stays fully
 * blurred until a new mask arrives. A context lost again while the stages are rebuilt waits for its
 * next restore; a rebuild that fails in a live context says so and keeps holding the last frame. */
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
    let pipeline;
    try {
      pipeline = compositor.restoreGraphics();
    } catch (error) {
      // The compositor stays as the loss left it (restoreGraphics throws before swapping anything in).
      // Lost again meanwhile: the browser restores it once more, and this listener runs again.
      if (canvas.getContext('webgl2')?.isContextLost() !== false) return;
      message.show('graphics', new UserError('The graphics could not be restored.',
        'Reload the page; the shared picture holds its last frame until then.', error));
      return;
    }
    onRestored(pipeline);
    message.clear('graphics');
  });
}
