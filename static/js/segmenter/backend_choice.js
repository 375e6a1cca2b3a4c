/** Which onnxruntime-web backend segments: asked for (URL, UI) or measured, and why. */

export const BACKENDS = Object.freeze(['wasm', 'webgpu']);
export const AUTO = 'auto';

// Why a backend is in use, as reported in segmenter.choice.reason.
export const REASON = Object.freeze({
  MEASURED: 'measured', // both ran; the faster median won
  URL: 'url', // ?backend=NAME in the page URL
  USER: 'user', // the caller (UI setting) asked for it
  ONLY_OPTION: 'only-option', // the browser offers one backend (or the one asked for is missing)
});

/** The backend named by `?backend=` in a URL's query string, or null. */
export function backendFromUrl(search) {
  const name = new URLSearchParams(search).get('backend');
  return BACKENDS.includes(name) ? name : null;
}

// Why WebGPU is left out of the measurement on a software adapter (measured: SwiftShader ~3 s per run
// against ~40 ms on WASM here), and timing it would cost many seconds of start-up.
const SOFTWARE_WEBGPU = 'the WebGPU adapter is a software emulation (slower than WASM), not measured';

/**
 * Decide what to load: {candidates, reason, unavailable, skipped}. The URL beats the caller's setting,
 * which beats measuring; a backend asked for but missing falls back to what exists (`unavailable` names
 * it); `skipped` ({backend: why}) lists backends left out of the measurement.
 */
export function planBackend({ requested, urlBackend, available, softwareWebgpu = false }) {
  const asked = urlBackend ?? (requested === AUTO ? null : requested);
  if (asked && available.includes(asked)) {
    return { candidates: [asked], reason: urlBackend ? REASON.URL : REASON.USER, unavailable: null, skipped: {} };
  }
  const skipped = softwareWebgpu && available.includes('webgpu') ? { webgpu: SOFTWARE_WEBGPU } : {};
  const candidates = available.filter((name) => !(name in skipped));
  const reason = candidates.length === 1 ? REASON.ONLY_OPTION : REASON.MEASURED;
  return { candidates, reason, unavailable: asked, skipped };
}

/** The backend with the lowest median milliseconds in `timings` ({name: ms}). */
export function fastest(timings) {
  let best = null;
  for (const [name, ms] of Object.entries(timings)) {
    if (best === null || ms < timings[best]) best = name;
  }
  return best;
}
