/** The stats overlay on the preview: in plain words the frame rate, the background quality and the
 * delay; behind its "Details" disclosure (closed at first) inference time, backend, gate, drops and tier.
 *
 * update() is called on every frame, so it only copies numbers into a preallocated record; the DOM
 * is written at most REFRESH_MS apart (text changes cost style and layout), and not at all while
 * the overlay is hidden. */

const REFRESH_MS = 250; // ms between DOM writes: 4 per second is readable and cheap
const MISSING = '–';

const BACKEND_LABELS = Object.freeze({ wasm: 'WASM', webgpu: 'WebGPU' });
// Quality tiers (static/js/quality.js) as a person reads them: the lower two are there to keep up.
const QUALITY_WORDS = Object.freeze({ high: 'best', medium: 'good', low: 'reduced to keep up', lowest: 'reduced to keep up' });
const hasQuality = (s) => s.quality !== undefined && s.quality !== null && s.quality !== '';

// [key, label, format(sample) -> string, inDetails]; one row each, in this order.
const ROWS = Object.freeze([
  ['fps', 'Frames per second', (s) => (isFinite(s.fps) ? `${s.fps.toFixed(1)}${isFinite(s.cameraFps) ? ` / ${Math.round(s.cameraFps)}` : ''}` : MISSING), false],
  ['background', 'Background quality', (s) => (hasQuality(s) ? (QUALITY_WORDS[s.quality] ?? s.quality) : MISSING), false],
  ['latency', 'Delay', (s) => (isFinite(s.latencyMs) ? `${s.latencyMs.toFixed(0)} ms` : MISSING), false],
  ['inference', 'Inference', (s) => (isFinite(s.inferenceMs) ? `${s.inferenceMs.toFixed(1)} ms` : MISSING), true],
  ['backend', 'Backend', (s) => (s.backend ? (BACKEND_LABELS[s.backend] ?? s.backend) : MISSING), true],
  ['gate', 'Gate', (s) => (s.gateState ? `${s.gateState}${isFinite(s.skipRate) ? ` · ${Math.round(s.skipRate * 100)}% skipped` : ''}` : MISSING), true],
  ['dropped', 'Dropped', (s) => (isFinite(s.droppedFrames) ? String(s.droppedFrames) : MISSING), true],
  ['quality', 'Quality tier', (s) => (hasQuality(s) ? `${s.quality}${s.qualityPinned ? ' (fixed)' : ''}` : MISSING), true],
]);

function statsList() {
  const list = document.createElement('dl');
  list.className = 'stats-list';
  return list;
}

/** Build the overlay inside `element` (shown/hidden by its `hidden` attribute); returns {update, clear}. */
export function createStatsOverlay(element) {
  const plain = statsList();
  const details = document.createElement('details');
  details.className = 'stats-details';
  const summary = document.createElement('summary');
  summary.textContent = 'Details';
  const technical = statsList();
  details.append(summary, technical);
  const cells = [];
  for (const [key, label, , inDetails] of ROWS) {
    const row = document.createElement('div');
    row.dataset.stat = key;
    const term = document.createElement('dt');
    term.textContent = label;
    const value = document.createElement('dd');
    value.textContent = MISSING;
    row.append(term, value);
    (inDetails ? technical : plain).append(row);
    cells.push(value);
  }
  element.replaceChildren(plain, details);

  // The latest sample, copied field by field so callers may reuse one object every frame.
  const latest = {
    fps: NaN, cameraFps: NaN, inferenceMs: NaN, backend: '', gateState: '', skipRate: NaN,
    droppedFrames: NaN, latencyMs: NaN, quality: '', qualityPinned: false,
  };
  let lastWrite = -Infinity;

  function write() {
    for (let i = 0; i < ROWS.length; i += 1) {
      const text = ROWS[i][2](latest);
      if (cells[i].textContent !== text) cells[i].textContent = text;
    }
    element.dataset.gate = latest.gateState || '';
  }

  return {
    /** Record one frame's numbers; the overlay shows them within REFRESH_MS. */
    update(sample) {
      latest.fps = sample.fps ?? NaN;
      latest.cameraFps = sample.cameraFps ?? NaN;
      latest.inferenceMs = sample.inferenceMs ?? NaN;
      latest.backend = sample.backend ?? '';
      latest.gateState = sample.gateState ?? '';
      latest.skipRate = sample.skipRate ?? NaN;
      latest.droppedFrames = sample.droppedFrames ?? NaN;
      latest.latencyMs = sample.latencyMs ?? NaN;
      latest.quality = sample.quality ?? '';
      latest.qualityPinned = Boolean(sample.qualityPinned);
      if (element.hidden) return;
      const now = performance.now();
      if (now - lastWrite < REFRESH_MS) return;
      lastWrite = now;
      write();
    },
    /** Forget the numbers (camera stopped): every row shows a dash. */
    clear() {
      latest.fps = NaN; latest.cameraFps = NaN; latest.inferenceMs = NaN; latest.backend = '';
      latest.gateState = ''; latest.skipRate = NaN; latest.droppedFrames = NaN; latest.latencyMs = NaN;
      latest.quality = ''; latest.qualityPinned = false;
      lastWrite = -Infinity;
      write();
    },
  };
}
