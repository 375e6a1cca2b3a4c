/** The viewer's sound: a broadcast starts muted (browsers only play sound after a tap), so a
 * "Tap for sound" prompt over the picture says so (once the presenter's microphone is on: there is nothing
 * to tap for before), and a labelled toggle mutes and unmutes. */

/**
 * @param {{video: HTMLVideoElement, prompt: HTMLButtonElement, toggle: HTMLButtonElement,
 *          label: HTMLElement, onIcon: Element, offIcon: Element}} elements
 */
export function bindSoundControl({ video, prompt, toggle, label, onIcon, offIcon }) {
  let available = false; // the stream carries sound and the broadcast is live
  let asked = false; // the prompt was answered once: after that the toggle alone is enough
  let silent = false; // the presenter's microphone is off: nothing to tap for yet

  function refresh() {
    toggle.hidden = !available;
    prompt.hidden = !available || asked || !video.muted || silent;
    label.textContent = video.muted ? 'Unmute' : 'Mute';
    toggle.title = video.muted ? 'The sound is off: turn it on' : 'Turn the sound off';
    onIcon.toggleAttribute('hidden', video.muted); // SVG elements have no `hidden` property
    offIcon.toggleAttribute('hidden', !video.muted);
  }

  function setMuted(muted) {
    video.muted = muted;
    asked = true;
    if (!muted) video.play().catch(() => {}); // a paused element would stay silent
    refresh();
  }

  prompt.addEventListener('click', () => setMuted(false));
  toggle.addEventListener('click', () => setMuted(!video.muted));
  refresh();
  return {
    /** Show the controls while a live stream has sound; hide them otherwise (waiting, ended). */
    setAvailable(hasSound) {
      available = hasSound;
      refresh();
    },
    /** The presenter's microphone is off (true) or on: the prompt waits for sound to tap for; the toggle stays. */
    setSilent(presenterSilent) {
      silent = presenterSilent;
      refresh();
    },
  };
}
