/** The "System" panel: one row per fact, looked up by its data-status key. */

export function createStatusPanel(root) {
  const cells = new Map();
  for (const cell of root.querySelectorAll('[data-status]')) cells.set(cell.dataset.status, cell);
  return {
    /** Show `text` in row `key`; state "bad" marks a problem. */
    set(key, text, state = 'ok') {
      const cell = cells.get(key);
      if (!cell) return;
      if (cell.textContent !== text) cell.textContent = text;
      if (cell.dataset.state !== state) cell.dataset.state = state;
    },
  };
}
