/** The "Performance" card's facts: one row per fact behind "Details", looked up by its data-status key,
 * and one line in plain words above them (#status-summary) that says how things stand for a person:
 * "Running smoothly", "Starting the camera…", "The background effect is restarting…".
 *
 * Callers only report facts (set(key, text, state), and setPace(stats) with the session's numbers); the
 * summary is derived here from them, so the words a person reads live in one place. Until setPace is
 * called the summary says "Running" and claims nothing about smoothness. */

// Row texts the studio reports while something is under way (static/js/studio.js).
const LOADING_SUFFIX = 'loading…';
const CAMERA_OFF = 'off';
const CAMERA_STARTING = 'starting…';
// Quality tiers (static/js/quality.js) that were stepped down to keep up with the camera.
const REDUCED_TIERS = new Set(['low', 'lowest']);
const SMOOTH_SHARE = 0.9; // of the camera's frame rate drawn: below it the picture visibly stutters

/** "smoothly", "reduced" (quality stepped down), "behind" (slower than the camera) or "" (not known yet). */
export function paceOf({ fps, cameraFps, quality }) {
  if (REDUCED_TIERS.has(quality)) return 'reduced';
  if (!isFinite(fps) || !isFinite(cameraFps) || cameraFps <= 0) return '';
  return fps >= SMOOTH_SHARE * cameraFps ? 'smoothly' : 'behind';
}

/** The plain-words line for the facts in `rows` (key -> {text, state}). */
export function summaryOf(rows, pace = '') {
  const fact = (key) => rows.get(key) ?? { text: '', state: 'ok' };
  const runtime = fact('ort-version');
  const model = fact('model');
  const camera = fact('camera');
  if (runtime.state === 'bad' || (model.state === 'bad' && model.text === 'unavailable')) {
    return { text: 'The background effect could not load. Your picture stays blurred.', state: 'bad' };
  }
  if (model.state === 'bad') return { text: 'The background effect is restarting…', state: 'bad' };
  const modelReady = model.text !== '' && !model.text.endsWith(LOADING_SUFFIX);
  if (camera.state === 'bad') return { text: 'The camera could not start.', state: 'bad' };
  if (camera.text === CAMERA_STARTING) return { text: 'Starting the camera…', state: 'ok' };
  if (camera.text === CAMERA_OFF || camera.text === '') {
    return { text: modelReady ? 'Ready. Enable the camera to start.' : 'Getting ready…', state: 'ok' };
  }
  if (!modelReady) return { text: 'Loading the background effect… Your picture stays blurred until then.', state: 'ok' };
  if (pace === 'smoothly') return { text: 'Running smoothly', state: 'ok' };
  if (pace === 'reduced') return { text: 'Running · background quality reduced to keep up', state: 'ok' };
  if (pace === 'behind') return { text: 'Running, slower than the camera', state: 'ok' };
  return { text: 'Running', state: 'ok' };
}

export function createStatusPanel(root) {
  const cells = new Map();
  const rows = new Map(); // key -> {text, state}: what the summary is derived from
  for (const cell of root.querySelectorAll('[data-status]')) {
    cells.set(cell.dataset.status, cell);
    rows.set(cell.dataset.status, { text: cell.textContent, state: cell.dataset.state ?? 'ok' });
  }
  const summary = root.ownerDocument.getElementById('status-summary');
  let pace = '';

  function drawSummary() {
    if (!summary) return;
    const { text, state } = summaryOf(rows, pace);
    if (summary.textContent !== text) summary.textContent = text;
    if (summary.dataset.state !== state) summary.dataset.state = state;
  }

  return {
    /** Show `text` in row `key`; state "bad" marks a problem. */
    set(key, text, state = 'ok') {
      const cell = cells.get(key);
      if (!cell) return;
      if (cell.textContent !== text) cell.textContent = text;
      if (cell.dataset.state !== state) cell.dataset.state = state;
      const row = rows.get(key);
      if (row.text === text && row.state === state) return;
      row.text = text;
      row.state = state;
      drawSummary();
    },
    /** The session's numbers ({fps, cameraFps, quality}, as session.stats): whether it keeps up. */
    setPace(stats) {
      const next = stats ? paceOf(stats) : '';
      if (next === pace) return;
      pace = next;
      drawSummary();
    },
  };
}
