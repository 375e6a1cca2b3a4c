/** A promise that must settle in time: media starts (a video's play()) can wait forever in some engines. */

/** Settles as `promise` does, or rejects with `late()` once `ms` passed first. */
export function withDeadline(promise, ms, late) {
  let timer = 0;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
