/**
 * The facade's link to external schedulers (SLURM): handing new jobs over, bringing their records
 * up to date no more often than asked (one squeue and at most one sacct per sync), and releasing
 * jobs held for a dependency soon after it completes. The scheduler itself is created when first
 * needed, so local-only use never touches SLURM.
 */
import type { DocketConfig } from '../config/config.js';
import type { Job } from '../core/words.js';
import type { StorageEngine, SubmitResult } from '../storage/engine.js';
import { SlurmScheduler } from './slurm/scheduler.js';

/** How soon after a local job completes the SLURM jobs held for it are looked at (once per burst). */
const RELEASE_DELAY_MS = 100;

export class ExternalSchedulers {
  private slurmScheduler: SlurmScheduler | null = null;
  private lastSync = 0;
  private releaseTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly engine: StorageEngine,
    private readonly config: Readonly<DocketConfig>,
    private readonly warn: (message: string) => void,
  ) {}

  /** The SLURM scheduler, created when first needed. */
  get slurm(): SlurmScheduler {
    this.slurmScheduler ??= new SlurmScheduler(this.engine, this.config.slurm, this.config.logsDir, this.warn);
    return this.slurmScheduler;
  }

  /**
   * Brings SLURM jobs up to date, unless that was done less than `maxAgeMs` ago. Costs one indexed
   * query when no SLURM job is active.
   */
  async sync(maxAgeMs = 0): Promise<void> {
    const now = Date.now();
    if (now - this.lastSync < maxAgeMs) return;
    this.lastSync = now;
    await this.slurm.sync(now);
  }

  /** Hands just-stored SLURM jobs to SLURM; if it refuses, the whole batch is taken back. */
  async handOver(results: SubmitResult[]): Promise<void> {
    const slurmJobs: Job[] = results
      .filter((result) => result.created && result.job.scheduler === 'slurm' && result.job.status === 'pending')
      .map((result) => result.job);
    if (slurmJobs.length === 0) return;
    try {
      const records = await this.slurm.handOver(slurmJobs);
      for (const result of results) result.job = records.get(result.job.id) ?? result.job;
    } catch (error) {
      await this.engine.discard(results.filter((result) => result.created).map((result) => result.job.id));
      throw error;
    }
  }

  /**
   * A local job ended: if it completed and others wait for it, SLURM jobs held for it can go now
   * (shortly, once per burst).
   */
  localJobEnded(recorded: Job | null): void {
    // Only a job that others wait for can release SLURM jobs held for it.
    if (recorded?.status !== 'completed' || !recorded.hasDependents || this.releaseTimer) return;
    this.releaseTimer = setTimeout(() => {
      this.releaseTimer = null;
      this.sync().catch((error: Error) => this.warn(`SLURM sync failed: ${error.message}`));
    }, RELEASE_DELAY_MS);
    this.releaseTimer.unref();
  }

  /** Stops the pending release (the docket is closing). */
  close(): void {
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
  }
}
