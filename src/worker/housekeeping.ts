/**
 * A worker's housekeeping, about once a minute (or as often as a retention shorter than that, down
 * to once a second): deletes completed, cancelled and skipped jobs (and their logs) that ended
 * more than `pruneAfterMs` ago, then lets the store tidy up (VACUUM on PostgreSQL).
 */
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { JobStatus } from '../core/words.js';
import { jobLogDir } from '../paths.js';
import type { StorageEngine } from '../storage/engine.js';

/** Housekeeping at most this often. */
const MAINTAIN_EVERY_MS = 60_000;
/** Finished jobs deleted per transaction when pruning. */
const PRUNE_BATCH = 500;

export class Housekeeping {
  /** The first heartbeat does the housekeeping at once. */
  private lastDoneAt = 0;

  constructor(
    private readonly engine: StorageEngine,
    private readonly logsDir: string,
    private readonly pruneAfterMs: number | null,
    private readonly log: Logger,
  ) {}

  /** Does the housekeeping if it is due; `stopping` cuts a long prune short. */
  async runIfDue(stopping: () => boolean): Promise<void> {
    const { pruneAfterMs } = this;
    const now = Date.now();
    const every = pruneAfterMs === null ? MAINTAIN_EVERY_MS : Math.min(MAINTAIN_EVERY_MS, Math.max(pruneAfterMs, 1000));
    if (now - this.lastDoneAt < every) return;
    this.lastDoneAt = now;
    if (pruneAfterMs !== null) {
      const pruned = await this.prune(now - pruneAfterMs, stopping);
      if (pruned > 0) this.log.info({ pruned }, 'pruned old finished jobs');
    }
    const done = (await this.engine.maintain?.()) ?? [];
    if (done.length > 0) this.log.info({ done }, 'store maintenance');
  }

  /**
   * Deletes finished jobs that ended before `endedBefore` in batches, each its own short transaction,
   * and their log folders off the event loop (libuv's thread pool): a backlog of a million old jobs
   * never holds the store's lock, nor the worker's heartbeats, for long.
   */
  private async prune(endedBefore: number, stopping: () => boolean): Promise<number> {
    const statuses: JobStatus[] = ['completed', 'cancelled', 'skipped'];
    let pruned = 0;
    for (;;) {
      const ids = await this.engine.clear({ statuses, endedBefore, limit: PRUNE_BATCH });
      await Promise.all(ids.map((id) => rm(jobLogDir(this.logsDir, id), { recursive: true, force: true })));
      pruned += ids.length;
      if (ids.length < PRUNE_BATCH || stopping()) return pruned;
    }
  }
}
