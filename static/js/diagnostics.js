/** Read-only facts about the page for tests and diagnostics, all in one place: `window.vbg`.
 * Every page and feature publishes its own names here; nothing here changes behaviour. */

/** The page's diagnostics object, created on first use. */
function facts() {
  if (!Object.hasOwn(window, 'vbg')) Object.defineProperty(window, 'vbg', { value: {}, enumerable: true });
  return window.vbg;
}

/**
 * Publish each of `values`' names on `window.vbg`, read live from `values` (a getter stays live,
 * and a later change to a plain property shows); publishing a name again replaces it.
 * @param {object} values e.g. `{ state: 'idle' }`, `{ share }`, or a page's own state object
 */
export function publishDiagnostics(values) {
  const target = facts();
  for (const name of Object.keys(values)) {
    Object.defineProperty(target, name, { get: () => values[name], enumerable: true, configurable: true });
  }
}
