/** `docket workers`: the registered workers — where they run, what they serve, what they run now. */
import type { Command } from 'commander';
import type { Docket } from '../../docket.js';
import type { WorkerOverview } from '../../job-service.js';
import { action, emit, withDocket } from '../context.js';
import { ago, table, terminalWidth, workerJson } from '../format.js';

interface WorkersFlags {
  all?: boolean;
}

/** Workers as a table: running jobs as `2/4: #5 #9`, heartbeat and age relative to now. */
export function workersTable(workers: WorkerOverview[], now = Date.now()): string {
  if (workers.length === 0) return 'no live workers (a submit starts one on demand; or run docket worker)';
  return table(
    ['WORKER', 'HOST', 'PID', 'QUEUES', 'RUNNING', 'HEARTBEAT', 'AGE', 'JOBS'],
    workers.map((worker) => [
      `${worker.id}${worker.alive ? '' : ' (dead)'}`,
      worker.host,
      worker.pid,
      worker.queues.join(','),
      `${worker.runningJobs.length}/${worker.concurrency}`,
      ago(worker.heartbeatAt, now),
      ago(worker.startedAt, now).replace(/ ago$/, ''),
      worker.runningJobs.map((id) => `#${id}`).join(' '),
    ]),
    { width: terminalWidth(), shrink: [3, 7] },
  );
}

/** The live workers (every registered one with `all`). */
export async function listWorkers(docket: Docket, all = false): Promise<WorkerOverview[]> {
  const workers = await docket.service.workers();
  return all ? workers : workers.filter((worker) => worker.alive);
}

export function register(program: Command): void {
  program
    .command('workers')
    .description('list live workers: host, pid, queues, running jobs of their concurrency, last heartbeat, age')
    .option('-a, --all', 'also registrations whose worker is gone (the next reconcile removes them)')
    .action(
      action(async (flags: WorkersFlags, command: Command) =>
        withDocket(command, async (docket, options) => {
          const workers = await listWorkers(docket, flags.all);
          emit(options, workers.map(workerJson), () => workersTable(workers));
          return 0;
        }),
      ),
    );
}
