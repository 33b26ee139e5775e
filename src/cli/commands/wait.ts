/** `docket wait ID...`: block until the jobs end; exit 0 only if all completed. */
import type { Command } from 'commander';
import { EXIT } from '../../core/errors.js';
import { lazy } from '../../core/lazy.js';
import { parseDuration, parseJobId } from '../../core/units.js';
import { FINAL_STATUSES, type Job } from '../../core/words.js';
import { action, emit, withDocket } from '../context.js';
import { jobJson, statusLabel } from '../format.js';
import { jobsTable } from '../jobs-table.js';

const loadProgress = lazy<typeof import('cli-progress')>('cli-progress');

interface WaitFlags {
  timeout?: string;
}

/** Overall progress: finished jobs count 1, running ones their reported progress. */
function fraction(jobs: Job[]): number {
  const sum = jobs.reduce(
    (total, job) =>
      total + (FINAL_STATUSES.includes(job.status) ? 1 : job.status === 'running' ? (job.progress ?? 0) : 0),
    0,
  );
  return jobs.length === 0 ? 1 : sum / jobs.length;
}

/** Which job the wait is still on: ` | waiting for #7 (running)`, or `… and 3 more`. */
function stillWaiting(jobs: Job[]): string {
  const open = jobs.filter((job) => !FINAL_STATUSES.includes(job.status));
  const [first] = open;
  if (!first) return '';
  const more = open.length > 1 ? ` and ${open.length - 1} more` : '';
  return ` | waiting for #${first.id} (${statusLabel(first)})${more}`;
}

export function register(program: Command): void {
  program
    .command('wait')
    .description('wait for jobs to end (a progress bar on a terminal); exit 0 only if all completed')
    .argument('<ids...>', 'job ids')
    .option('--timeout <duration>', 'give up after this long (exit 124)')
    .action(
      action(async (ids: string[], flags: WaitFlags, command: Command) => {
        const jobIds = ids.map((id) => parseJobId(id));
        const timeoutMs = flags.timeout === undefined ? undefined : parseDuration(flags.timeout, '--timeout') * 1000;
        return withDocket(command, async (docket, options) => {
          for (const id of jobIds) await docket.get(id); // unknown ids: exit 3 before waiting
          const bar =
            process.stderr.isTTY && !options.json
              ? new (loadProgress().SingleBar)({
                  // Not `{total}`: cli-progress fills that with the bar's own total (100).
                  format: '[{bar}] {percentage}% | {done}/{count} jobs ended{still}',
                  stream: process.stderr,
                  hideCursor: true,
                })
              : null;
          bar?.start(100, 0, { done: 0, count: jobIds.length, still: '' });
          const { jobs, timedOut } = await docket.wait(jobIds, {
            timeoutMs,
            pollMs: 100,
            onUpdate: (current) =>
              bar?.update(Math.round(fraction(current) * 100), {
                done: current.filter((job) => FINAL_STATUSES.includes(job.status)).length,
                still: stillWaiting(current),
              }),
          });
          bar?.stop();
          emit(options, { timed_out: timedOut, jobs: jobs.map(jobJson) }, () => jobsTable(jobs));
          if (timedOut) return EXIT.timeout;
          return jobs.every((job) => job.status === 'completed') ? 0 : EXIT.failure;
        });
      }),
    );
}
