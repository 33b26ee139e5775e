/** `docket list`: active jobs by default, everything with --all. */
import type { Command } from 'commander';
import { InvalidInputError } from '../../core/errors.js';
import { parseCount } from '../../core/units.js';
import { ACTIVE_STATUSES, JOB_STATUSES, type JobStatus, SCHEDULERS, type SchedulerName } from '../../core/words.js';
import { action, commaList, emit, withDocket } from '../context.js';
import { jobJson, jobsTable } from '../format.js';

interface ListFlags {
  all?: boolean;
  allHistory?: boolean;
  status?: string[];
  queue?: string;
  scheduler?: string;
  limit: string;
}

export function parseStatuses(values: string[], field = '--status'): JobStatus[] {
  for (const value of values) {
    if (!JOB_STATUSES.includes(value as JobStatus)) {
      throw new InvalidInputError(field, `"${value}" is not a state; use ${JOB_STATUSES.join(', ')}`);
    }
  }
  return values as JobStatus[];
}

export function register(program: Command): void {
  program
    .command('list')
    .description('list jobs: active ones (pending, running, suspended) unless --all')
    .option('-a, --all', 'include finished jobs')
    .option('--all-history', 'same as --all (molq)')
    .option('--status <states>', 'only these states, comma-separated', commaList)
    .option('--queue <queue>', 'only this queue')
    .option('--scheduler <name>', `only this scheduler (${SCHEDULERS.join(', ')})`)
    .option('--limit <n>', 'show at most the newest n jobs (0: no limit)', '1000')
    .action(
      action(async (flags: ListFlags, command: Command) => {
        const statuses = flags.status
          ? parseStatuses(flags.status)
          : flags.all || flags.allHistory
            ? undefined
            : [...ACTIVE_STATUSES];
        if (flags.scheduler !== undefined && !SCHEDULERS.includes(flags.scheduler as SchedulerName)) {
          throw new InvalidInputError(
            '--scheduler',
            `"${flags.scheduler}" is not a scheduler; use ${SCHEDULERS.join(' or ')}`,
          );
        }
        const limit = parseCount(flags.limit, '--limit', { min: 0 });
        return withDocket(command, async (docket, options) => {
          // The newest `limit` jobs, shown oldest first.
          const jobs = (
            await docket.list({
              statuses,
              queue: flags.queue,
              scheduler: flags.scheduler as SchedulerName | undefined,
              limit: limit === 0 ? undefined : limit,
              order: 'desc',
            })
          ).reverse();
          emit(options, jobs.map(jobJson), () => (jobs.length === 0 ? 'no jobs' : jobsTable(jobs)));
          return 0;
        });
      }),
    );
}
