/** The frame counter on the status panel and the stats overlay, refreshed a few times a second
 * while the camera runs. */
const STATS_REFRESH_MS = 250; // 4x per second

/**
 * @param {{stats: () => object|null, status, overlay, showOverlay: () => boolean}} options
 * @returns {() => void} stop refreshing
 */
export function startStatsRefresh({ stats, status, overlay, showOverlay }) {
  const timer = setInterval(() => {
    const current = stats();
    if (!current) return;
    status.set('frames', String(current.frames));
    status.setPace(current);
    if (showOverlay()) overlay.update(current);
  }, STATS_REFRESH_MS);
  return () => clearInterval(timer);
}
