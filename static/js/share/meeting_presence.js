/** Who is in a meeting before one joins it: the server's count of its members, asked every few seconds
 * (GET /api/meetings/<room>/presence answers {people}, or {ended: true} once it is over). */

const POLL_MS = 3000; // ms between asks while the lobby shows; people join within a few seconds of clicking

/** The lobby line for `people` already in the meeting (this page not counted: it has not joined). */
export function presenceText(people) {
  if (people === 0) return 'Nobody is here yet';
  return people === 1 ? '1 person is in this meeting' : `${people} people are in this meeting`;
}

/**
 * Ask the server how many are in `room` now and then, while the page is visible.
 * onCount(people) on each answer, onEnded() once the meeting is gone (then it stops asking).
 * Returns {stop()}; asking again after a stop needs a new watcher.
 */
export function watchPresence(room, { onCount, onEnded }) {
  const url = `/api/meetings/${encodeURIComponent(room)}/presence`;
  let timer = 0;
  let stopped = false;

  async function ask() {
    timer = 0;
    if (stopped) return;
    if (document.visibilityState === 'visible') {
      try {
        const response = await fetch(url, { cache: 'no-store' });
        if (stopped) return;
        const answer = response.ok ? await response.json() : null;
        if (stopped) return;
        if (answer?.ended) {
          stopped = true;
          onEnded();
          return;
        }
        if (Number.isInteger(answer?.people)) onCount(answer.people);
      } catch {
        // The server is unreachable for now: keep the last count and ask again.
      }
    }
    if (!stopped) timer = setTimeout(ask, POLL_MS);
  }

  ask();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
