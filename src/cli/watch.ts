/** A live view (`docket top`, `list --watch`): redraws a frame every interval until Ctrl-C or SIGTERM. */
import { InvalidInputError } from '../core/errors.js';
import type { Docket } from '../docket.js';
import { shortTime } from './format.js';

/** How often a frame is redrawn. */
export const WATCH_INTERVAL_MS = 2000;

/**
 * Draws `frame()` now and again every `intervalMs`, each time after settling what dead workers
 * left, until the process is interrupted. On a terminal each frame replaces the last; piped, frames
 * follow one another.
 */
export async function watch(
  docket: Docket,
  frame: () => Promise<string>,
  intervalMs = WATCH_INTERVAL_MS,
): Promise<void> {
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const tty = process.stdout.isTTY === true;
  try {
    for (let first = true; ; first = false) {
      if (!first) await docket.reconcile({ startWorkers: false });
      const body = await frame();
      const heading = `every ${intervalMs / 1000}s, Ctrl-C to stop · ${shortTime(Date.now())}`;
      process.stdout.write(`${tty ? '\x1b[H\x1b[2J' : first ? '' : '\n'}${heading}\n\n${body}\n`);
      let timer: NodeJS.Timeout | undefined;
      const next = new Promise<'next'>((resolve) => {
        timer = setTimeout(() => resolve('next'), intervalMs);
      });
      const why = await Promise.race([next, stopped.then(() => 'stop' as const)]);
      clearTimeout(timer);
      if (why === 'stop') return;
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** The refusal of a live view with --json (one JSON document cannot be redrawn). */
export function watchWithJson(): InvalidInputError {
  return new InvalidInputError(
    '--json',
    'a live view is for people; for JSON use docket list --json, docket workers --json or docket queue list --json',
  );
}
