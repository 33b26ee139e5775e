/** `docket list`: active jobs by default, everything with --all; says what it hides and why jobs wait. */
import type { Command } from 'commander';
import { InvalidInputError } from '../../core/errors.js';
import { parseCount, parseTime } from '../../core/units.js';
import { ACTIVE_STATUSES, FINAL_STATUSES, SCHEDULERS, type SchedulerName } from '../../core/words.js';
import type { Docket } from '../../docket.js';
import type { JobSearch } from '../../docket-types.js';
import { action, commaList, emit, globals, withDocket } from '../context.js';
import { parseStatuses } from '../filters.js';
import { jobJson } from '../format.js';
import { jobsTable, reasonsFor } from '../jobs-table.js';
import { watch, watchWithJson } from '../watch.js';

interface ListFlags {
  all?: boolean;
  allHistory?: boolean;
  status?: string[];
  queue?: string;
  type?: string;
  name?: string;
  tenant?: string;
  since?: string;
  until?: string;
  scheduler?: string;
  limit: string;
  watch?: boolean;
}

/** The search the flags ask for (without its page). */
function searchOf(flags: ListFlags): Omit<JobSearch, 'limit'> {
  if (flags.scheduler !== undefined && !SCHEDULERS.includes(flags.scheduler as SchedulerName)) {
    throw new InvalidInputError(
      '--scheduler',
      `"${flags.scheduler}" is not a scheduler; use ${SCHEDULERS.join(' or ')}`,
    );
  }
  const now = Date.now();
  const everything = flags.all || flags.allHistory;
  return {
    statuses: flags.status ? parseStatuses(flags.status) : everything ? undefined : [...ACTIVE_STATUSES],
    queue: flags.queue,
    type: flags.type,
    tenant: flags.tenant,
    nameGlob: flags.name,
    scheduler: flags.scheduler as SchedulerName | undefined,
    createdFrom: flags.since === undefined ? undefined : parseTime(flags.since, '--since', 'past', now),
    createdBefore: flags.until === undefined ? undefined : parseTime(flags.until, '--until', 'past', now),
    order: 'created_at',
    descending: true,
    offset: 0,
    now,
  };
}

export function register(program: Command): void {
  program
    .command('list')
    .description('list jobs: active ones (pending, running, suspended) unless --all; says why pending ones wait')
    .option('-a, --all', 'include finished jobs')
    .option('--all-history', 'same as --all (molq)')
    .option('-s, --status <states>', 'only these states, comma-separated, any case', commaList)
    .option('-q, --queue <queue>', 'only this queue')
    .option('-n, --name <glob>', 'only names matching this glob (* and ?; case-insensitive)')
    .option('--type <type>', 'only jobs of this type')
    .option('--tenant <tenant>', 'only jobs of this tenant')
    .option('--since <time>', 'only jobs created since then (ISO-8601, or a duration ago: 2h)')
    .option('--until <time>', 'only jobs created before then (ISO-8601, or a duration ago)')
    .option('--scheduler <name>', `only this scheduler (${SCHEDULERS.join(', ')})`)
    .option('--limit <n>', 'show at most the newest n jobs (0: no limit)', '1000')
    .option('-w, --watch', 'refresh the list every 2 seconds until Ctrl-C (as docket top)')
    .action(
      action(async (flags: ListFlags, command: Command) => {
        const search = searchOf(flags);
        const limit = parseCount(flags.limit, '--limit', { min: 0 });
        if (flags.watch && globals(command).json) throw watchWithJson();
        return withDocket(command, async (docket, options) => {
          if (flags.watch) {
            await watch(docket, async () => (await listing(docket, search, limit, flags)).text);
            return 0;
          }
          const { jobs, reasons, text } = await listing(docket, search, limit, flags);
          emit(
            options,
            jobs.map((job) => ({ ...jobJson(job), state_reason: reasons.get(job.id) ?? null })),
            () => text,
          );
          return 0;
        });
      }),
    );
}

/** The newest `limit` jobs of the search (shown oldest first), why each is where it is, and the text. */
async function listing(docket: Docket, search: Omit<JobSearch, 'limit'>, limit: number, flags: ListFlags) {
  const found = await docket.service.search({ ...search, now: Date.now(), limit: limit === 0 ? 2 ** 31 - 1 : limit });
  const jobs = found.jobs.reverse();
  const reasons = await reasonsFor(docket, jobs);
  const lines = [jobs.length === 0 ? 'no jobs' : jobsTable(jobs, { reasons })];
  if (found.total > jobs.length) lines.push(`newest ${jobs.length} of ${found.total} shown (--limit 0 shows all)`);
  // Without --all or --status, finished jobs are left out: say how many.
  if (!flags.all && !flags.allHistory && !flags.status) {
    const finishedSearch = { ...search, statuses: [...FINAL_STATUSES], limit: 0 };
    const finished = (await docket.service.search(finishedSearch)).total;
    if (finished > 0) lines.push(`${finished} finished job${finished === 1 ? '' : 's'} not shown (--all shows them)`);
  }
  return { jobs, reasons, text: lines.join('\n') };
}
