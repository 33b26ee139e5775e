/**
 * `docket cancel|requeue|suspend|resume ID...` or by filter (`--queue`, `--status`, `--type`,
 * `--name`, `--all`): one change applied to each job named or matched, and `docket rm ID...`.
 */
import type { Command } from 'commander';
import { DocketError, EXIT, InvalidInputError } from '../../core/errors.js';
import { parseJobId } from '../../core/units.js';
import { ACTIVE_STATUSES, FINAL_STATUSES, type Job, type JobStatus } from '../../core/words.js';
import type { Docket } from '../../docket.js';
import { BATCH_ACTION_MAX, type JobAction } from '../../job-service.js';
import { ASK_ABOVE, canAsk, confirm } from '../confirm.js';
import { action, emit, type GlobalOptions, withDocket } from '../context.js';
import { forEachJob } from '../each.js';
import { addFilterOptions, describeFilter, type FilterFlags, hasFilter, searchOf } from '../filters.js';
import { jobJson } from '../format.js';

interface JobActionSpec {
  name: string;
  /** The word for a job it changed: `3 cancelled`. */
  done: string;
  /** The HTTP API's name for the same action (the facade's batch action). */
  batch: JobAction;
  /** The states it can change: what a filter without --status matches. */
  states: readonly JobStatus[];
  description: string;
  apply: (docket: Docket, id: number) => Promise<Job>;
}

const ACTIONS: JobActionSpec[] = [
  {
    name: 'cancel',
    done: 'cancelled',
    batch: 'cancel',
    states: ACTIVE_STATUSES,
    description: 'cancel pending, running or suspended jobs (stops their whole process tree)',
    apply: (docket, id) => docket.cancel(id),
  },
  {
    name: 'requeue',
    done: 'requeued',
    batch: 'retry',
    states: ['failed', 'timeout', 'cancelled', 'skipped'],
    description: 'put failed, timed-out, cancelled or skipped jobs back to pending, attempts reset',
    apply: (docket, id) => docket.requeue(id),
  },
  {
    name: 'suspend',
    done: 'suspended',
    batch: 'suspend',
    states: ['pending', 'running'],
    description: "pause jobs: SIGSTOP to a running job's processes; a pending job is held",
    apply: (docket, id) => docket.suspend(id),
  },
  {
    name: 'resume',
    done: 'resumed',
    batch: 'resume',
    states: ['suspended'],
    description: 'continue suspended jobs (SIGCONT, or back to pending)',
    apply: (docket, id) => docket.resume(id),
  },
];

interface BulkFlags extends FilterFlags {
  yes?: boolean;
}

/** Acts on every job a filter matches through the facade's batch action (the HTTP API's too). */
async function actOnFilter(
  docket: Docket,
  options: GlobalOptions,
  spec: JobActionSpec,
  flags: BulkFlags,
): Promise<number> {
  const search = searchOf(flags, spec.states);
  const { total } = await docket.service.search(search);
  const what = describeFilter(search);
  if (total > BATCH_ACTION_MAX) {
    throw new InvalidInputError(
      '--all',
      `${total} jobs match (${what}); one command changes at most ${BATCH_ACTION_MAX}: narrow the filter`,
    );
  }
  if (total > ASK_ABOVE && !flags.yes && canAsk()) {
    if (!(await confirm(`${spec.name} ${total} jobs (${what})?`))) {
      throw new DocketError(`nothing ${spec.done}; add --yes to ${spec.name} without asking`);
    }
  }
  const result = await docket.service.actMany(spec.batch, { search }, {});
  for (const failure of result.failed) process.stderr.write(`docket: ${failure.detail}\n`);
  emit(options, result, () =>
    result.matched === 0 ? `0 ${spec.done}: no job is ${what}` : `${result.changed} ${spec.done}`,
  );
  return result.failed.length > 0 ? EXIT.invalidState : 0;
}

function registerAction(program: Command, spec: JobActionSpec): void {
  addFilterOptions(
    program.command(spec.name).description(spec.description).argument('[ids...]', 'job ids (or give filters instead)'),
    `every job it can ${spec.name} (${spec.states.join(', ')}), when no other filter is given`,
  )
    .option('-y, --yes', `do not ask before changing more than ${ASK_ABOVE} jobs on a terminal`)
    .addHelpText(
      'after',
      `\nWithout --status, a filter matches the jobs ${spec.name} can change (${spec.states.join(', ')}).`,
    )
    .action(
      action(async (ids: string[], flags: BulkFlags, command: Command) => {
        if (ids.length > 0 && hasFilter(flags)) {
          throw new InvalidInputError(
            '--all',
            'give job ids or filters (--queue, --status, --type, --name, --all), not both',
          );
        }
        if (ids.length === 0 && !hasFilter(flags)) {
          throw new InvalidInputError(
            'ids',
            `give job ids, or filters (--queue, --status, --type, --name) or --all; see docket ${spec.name} --help`,
          );
        }
        return withDocket(command, (docket, options) =>
          ids.length > 0
            ? forEachJob(
                options,
                ids,
                (id) => spec.apply(docket, id),
                (job) => sentence(job, spec.done),
              )
            : actOnFilter(docket, options, spec, flags),
        );
      }),
    );
}

/** `job 12 cancelled`, with the state it is in when that is not the word itself (`resumed (running)`). */
function sentence(job: Job, done: string): string {
  return job.status === done ? `job ${job.id} ${done}` : `job ${job.id} ${done} (now ${job.status})`;
}

export function register(program: Command): void {
  for (const spec of ACTIONS) registerAction(program, spec);
  program
    .command('restart')
    .description('submit a finished job again as a new job, linked to it (restarted_from)')
    .argument('<id>', 'job id')
    .action(
      action(async (id: string, _flags: unknown, command: Command) => {
        const original = parseJobId(id);
        return withDocket(command, async (docket, options) => {
          const job = await docket.restart(original);
          emit(options, jobJson(job), () => `job ${original} restarted as job ${job.id} (${job.status})`);
          return 0;
        });
      }),
    );
  program
    .command('rm')
    .description(`delete finished jobs (${FINAL_STATUSES.join(', ')}) and their logs`)
    .argument('<ids...>', 'job ids')
    .action(
      action(async (ids: string[], _flags: unknown, command: Command) =>
        withDocket(command, (docket, options) =>
          forEachJob(
            options,
            ids,
            async (id) => {
              const job = await docket.service.get(id, {});
              await docket.service.act('delete', id, {});
              return job;
            },
            (job) => `job ${job.id} removed`,
          ),
        ),
      ),
    );
}
