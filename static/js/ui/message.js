/** The alert box under the preview: what went wrong and what to do about it. */

export function createMessageBox(element) {
  return {
    /** Show an error; CameraError-like errors carry a title and advice. */
    show(error) {
      const title = document.createElement('strong');
      title.textContent = error.title ?? 'Something went wrong.';
      const advice = document.createElement('span');
      advice.textContent = error.advice ?? error.message ?? String(error);
      element.replaceChildren(title, advice);
      element.dataset.kind = error.name ?? 'Error';
      element.hidden = false;
    },
    clear() {
      element.hidden = true;
      element.replaceChildren();
      delete element.dataset.kind;
    },
  };
}
