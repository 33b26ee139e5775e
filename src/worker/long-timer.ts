/**
 * Timers for time limits of any length. Node clamps a `setTimeout` delay above 2^31−1 ms (about
 * 24.8 days) to 1 ms, so a 30-day limit would fire at once; this one re-arms in chunks below that.
 */

/** The longest delay Node's timers honour. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export interface LongTimer {
  clear(): void;
}

/** Calls `fire` once `ms` milliseconds have passed, however long that is. */
export function setLongTimeout(fire: () => void, ms: number): LongTimer {
  const deadline = Date.now() + ms;
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = deadline - Date.now();
    if (left <= 0) fire();
    else timer = setTimeout(arm, Math.min(left, MAX_DELAY_MS));
  };
  timer = setTimeout(arm, Math.min(Math.max(ms, 0), MAX_DELAY_MS));
  return { clear: () => clearTimeout(timer) };
}
