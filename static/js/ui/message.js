/** The alert box under the preview: what went wrong and what to do about it.
 *
 * Problems come from independent sources (camera, runtime, model), so each reports under its own
 * topic: fixing the camera does not hide a model that failed to load. */

export function createMessageBox(element) {
  const active = new Map(); // topic -> {title, advice, name}

  function draw() {
    const items = [];
    for (const [topic, problem] of active) {
      const item = document.createElement('p');
      item.dataset.topic = topic;
      const title = document.createElement('strong');
      title.textContent = problem.title;
      const advice = document.createElement('span');
      advice.textContent = problem.advice;
      item.append(title, advice);
      items.push(item);
    }
    element.replaceChildren(...items);
    element.hidden = items.length === 0;
  }

  return {
    /** Show `error` under `topic`; errors with a title and advice (CameraError) keep both. */
    show(topic, error) {
      active.set(topic, {
        title: error.title ?? 'Something went wrong.',
        advice: error.advice ?? error.message ?? String(error),
      });
      draw();
    },
    /** Remove the message of one topic. */
    clear(topic) {
      if (active.delete(topic)) draw();
    },
  };
}
