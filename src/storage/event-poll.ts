/**
 * Looks at the newest id of the job event log every `everyMs` and calls `onEvents` when it moved:
 * how a server notices events written by other processes on SQLite, and its safety net under
 * NOTIFY on PostgreSQL. `beforeLook` runs first at each tick (PostgreSQL reconnects its listener
 * there). A failed look is tried again at the next tick.
 */
export function pollNewestEvent(
  newest: () => number | Promise<number>,
  from: number,
  everyMs: number,
  onEvents: () => void,
  beforeLook?: () => Promise<void>,
): () => void {
  let last = from;
  let stopped = false;
  const timer = setInterval(async () => {
    if (stopped) return;
    try {
      await beforeLook?.();
      const id = await newest();
      if (id !== last) {
        last = id;
        onEvents();
      }
    } catch {
      // a busy, closing or unreachable store: look again at the next tick
    }
  }, everyMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
