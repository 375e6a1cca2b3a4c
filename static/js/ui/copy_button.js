/** A "Copy" button next to a read-only link field. */

const COPIED_FEEDBACK_MS = 1500;

export function bindCopyButton(button, input) {
  const label = button.textContent;
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(input.value);
      button.textContent = 'Copied';
    } catch {
      input.select(); // clipboard blocked (not a secure context): let the user copy by hand
      button.textContent = 'Press Ctrl+C';
    }
    setTimeout(() => { button.textContent = label; }, COPIED_FEEDBACK_MS);
  });
}
