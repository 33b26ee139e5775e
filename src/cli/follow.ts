/** Streams a job's log files as they grow, until the job reaches a final state. */
import { FileTail } from '../core/file-tail.js';
import { FINAL_STATUSES, type Job } from '../core/words.js';
import type { Docket } from '../docket.js';

/** A log file copied to a stream as it grows. */
class LogCopy {
  private readonly tail: FileTail;

  constructor(
    path: string,
    private readonly sink: NodeJS.WritableStream,
  ) {
    this.tail = new FileTail(path);
  }

  /** Copies whatever was appended since the last call. */
  drain(): void {
    this.tail.read((chunk) => this.sink.write(Buffer.from(chunk)));
  }
}

export interface FollowOptions {
  stdout?: NodeJS.WritableStream | null;
  stderr?: NodeJS.WritableStream | null;
  pollMs?: number;
  /** Called with every record read while following, before the output is drained (awaited). */
  onJob?: (job: Job) => Promise<void> | void;
}

/** Follows the job's output until it ends; returns the final record. */
export async function followJob(docket: Docket, id: number, options: FollowOptions = {}): Promise<Job> {
  const paths = docket.logPaths(id);
  const tails = [
    options.stdout === null ? null : new LogCopy(paths.stdout, options.stdout ?? process.stdout),
    options.stderr === null ? null : new LogCopy(paths.stderr, options.stderr ?? process.stderr),
  ].filter((tail): tail is LogCopy => tail !== null);
  // Short jobs end within milliseconds: look often at first, then less as the job goes on.
  const started = Date.now();
  const pollMs = () => options.pollMs ?? (Date.now() - started < 1000 ? 5 : Date.now() - started < 10_000 ? 25 : 100);
  let lastReconcile = Date.now();
  for (;;) {
    const job = await docket.get(id);
    await options.onJob?.(job);
    for (const tail of tails) tail.drain();
    if (FINAL_STATUSES.includes(job.status)) return job;
    await new Promise((resolve) => setTimeout(resolve, pollMs()));
    // Reconciling is cheap but not free; once a second keeps a dead worker from hanging us.
    if (Date.now() - lastReconcile > 1000) {
      await docket.reconcile();
      lastReconcile = Date.now();
    }
  }
}
