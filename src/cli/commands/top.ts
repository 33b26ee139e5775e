/** `docket top`: a live view of the queues, the workers and the running jobs, until Ctrl-C. */
import type { Command } from 'commander';
import type { Docket } from '../../docket.js';
import { action, globals, withDocket } from '../context.js';
import { ago, table } from '../format.js';
import { jobsTable, reasonsFor } from '../jobs-table.js';
import { watch, watchWithJson } from '../watch.js';
import { listWorkers, workersTable } from './workers.js';

/** How many running and pending jobs a frame shows at most (a terminal holds a few dozen rows). */
const ROWS = 20;

/** One frame: queues with their counts, the live workers, then running and the next pending jobs. */
async function frame(docket: Docket): Promise<string> {
  const now = Date.now();
  const [queues, workers, running, pending] = await Promise.all([
    docket.service.queues({}),
    listWorkers(docket),
    docket.list({ statuses: ['running', 'suspended'], limit: ROWS }),
    docket.list({ statuses: ['pending'], limit: ROWS }),
  ]);
  const queueRows = queues.map((queue) => [
    queue.name,
    queue.paused ? 'paused' : 'active',
    queue.capacity,
    queue.counts.pending,
    queue.counts.running,
    queue.counts.failed + queue.counts.timeout,
    queue.counts.completed,
    ago(queue.oldestPendingAt, now),
  ]);
  const jobs = [...running, ...pending];
  const reasons = await reasonsFor(docket, pending);
  return [
    queueRows.length === 0
      ? 'no queues'
      : table(['QUEUE', 'STATE', 'CAPACITY', 'PENDING', 'RUNNING', 'FAILED', 'COMPLETED', 'OLDEST PENDING'], queueRows),
    workersTable(workers, now),
    jobs.length === 0 ? 'no running or pending jobs' : jobsTable(jobs, { reasons }),
  ].join('\n\n');
}

export function register(program: Command): void {
  program
    .command('top')
    .description('a live view of queues, workers and running jobs, refreshed every 2 seconds until Ctrl-C')
    .action(
      action(async (_flags: unknown, command: Command) => {
        if (globals(command).json) throw watchWithJson();
        return withDocket(command, async (docket) => {
          await watch(docket, () => frame(docket));
          return 0;
        });
      }),
    );
}
