/** `docket cancel|requeue|suspend|resume ID...`: one change applied to each job named. */
import type { Command } from 'commander';
import type { Job } from '../../core/words.js';
import type { Docket } from '../../docket.js';
import { action, withDocket } from '../context.js';
import { forEachJob } from '../each.js';

const ACTIONS: {
  name: string;
  verb: string;
  description: string;
  apply: (docket: Docket, id: number) => Promise<Job>;
}[] = [
  {
    name: 'cancel',
    verb: 'cancelled',
    description: 'cancel pending, running or suspended jobs (stops their whole process tree)',
    apply: (docket, id) => docket.cancel(id),
  },
  {
    name: 'requeue',
    verb: 'requeued',
    description: 'put failed, timed-out, cancelled or skipped jobs back to pending, attempts reset',
    apply: (docket, id) => docket.requeue(id),
  },
  {
    name: 'suspend',
    verb: 'suspended',
    description: "pause jobs: SIGSTOP to a running job's processes; a pending job is held",
    apply: (docket, id) => docket.suspend(id),
  },
  {
    name: 'resume',
    verb: 'resumed',
    description: 'continue suspended jobs (SIGCONT, or back to pending)',
    apply: (docket, id) => docket.resume(id),
  },
];

export function register(program: Command): void {
  for (const { name, verb, description, apply } of ACTIONS) {
    program
      .command(name)
      .description(description)
      .argument('<ids...>', 'job ids')
      .action(
        action(async (ids: string[], _flags: unknown, command: Command) =>
          withDocket(command, (docket, options) => forEachJob(options, ids, verb, (id) => apply(docket, id))),
        ),
      );
  }
}
