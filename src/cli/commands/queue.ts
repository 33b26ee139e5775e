/** `docket queue set|pause|resume|list`: queue settings every worker obeys, stored in the database. */
import type { Command } from 'commander';
import { InvalidInputError } from '../../core/errors.js';
import { parseCount } from '../../core/units.js';
import type { Docket } from '../../docket.js';
import type { QueueInfo } from '../../docket-types.js';
import { action, emit, withDocket } from '../context.js';
import { table } from '../format.js';

function queueJson(queue: QueueInfo): Record<string, unknown> {
  return { name: queue.name, capacity: queue.capacity, paused: queue.paused, counts: queue.counts };
}

function queuesTable(queues: QueueInfo[]): string {
  return table(
    [
      'QUEUE',
      'CAPACITY',
      'PAUSED',
      'PENDING',
      'RUNNING',
      'SUSPENDED',
      'COMPLETED',
      'FAILED',
      'TIMEOUT',
      'CANCELLED',
      'SKIPPED',
      'TOTAL',
    ],
    queues.map((q) => [
      q.name,
      q.capacity ?? '-',
      q.paused ? 'yes' : 'no',
      q.counts.pending,
      q.counts.running,
      q.counts.suspended,
      q.counts.completed,
      q.counts.failed,
      q.counts.timeout,
      q.counts.cancelled,
      q.counts.skipped,
      q.counts.total,
    ]),
  );
}

/** A queue nobody used yet is often a typo: say so (the setting is still made, for jobs to come). */
async function warnIfUnknown(docket: Docket, name: string, done: string): Promise<void> {
  const queues = await docket.listQueues();
  if (queues.some((queue) => queue.name === name)) return;
  const known = queues.map((queue) => queue.name).join(', ') || 'none yet';
  process.stderr.write(
    `docket: warning: queue ${name} has no jobs and no settings (queues: ${known}); ${done} it anyway for jobs to come\n`,
  );
}

export function register(program: Command): void {
  const queue = program.command('queue').description('queue settings shared by every worker');
  queue
    .command('set')
    .description("set a queue's capacity: the most of its jobs running at once across all workers")
    .argument('<name>', 'queue name')
    .option('--capacity <n>', 'a positive number, or "none" for no limit')
    .action(
      action(async (name: string, flags: { capacity?: string }, command: Command) => {
        if (flags.capacity === undefined)
          throw new InvalidInputError('--capacity', 'give a number, or none for no limit');
        const capacity = flags.capacity === 'none' ? null : parseCount(flags.capacity, '--capacity');
        return withDocket(command, async (docket, options) => {
          await warnIfUnknown(docket, name, 'set');
          const info = await docket.setQueue(name, { capacity });
          emit(options, queueJson(info), () => queuesTable([info]));
          return 0;
        });
      }),
    );
  for (const [verb, paused, description] of [
    ['pause', true, "stop starting the queue's jobs (running ones finish)"],
    ['resume', false, 'start the queue again'],
  ] as const) {
    queue
      .command(verb)
      .description(description)
      .argument('<name>', 'queue name')
      .action(
        action(async (name: string, _flags: unknown, command: Command) =>
          withDocket(command, async (docket, options) => {
            await warnIfUnknown(docket, name, paused ? 'paused' : 'resumed');
            const info = await docket.setQueue(name, { paused });
            emit(options, queueJson(info), () => `queue ${name} ${paused ? 'paused' : 'resumed'}`);
            return 0;
          }),
        ),
      );
  }
  queue
    .command('rm')
    .description('remove an empty queue (its settings); a queue holding jobs is refused')
    .argument('<name>', 'queue name')
    .action(
      action(async (name: string, _flags: unknown, command: Command) =>
        withDocket(command, async (docket, options) => {
          await docket.removeQueue(name);
          emit(options, { removed: name }, () => `queue ${name} removed`);
          return 0;
        }),
      ),
    );
  queue
    .command('list')
    .description('every queue with its settings and a count per state')
    .action(
      action(async (_flags: unknown, command: Command) =>
        withDocket(command, async (docket, options) => {
          const queues = await docket.listQueues();
          emit(options, queues.map(queueJson), () => (queues.length ? queuesTable(queues) : 'no queues'));
          return 0;
        }),
      ),
    );
}
