/** `docket clear`: remove finished jobs (completed and cancelled by default) and their logs. */
import type { Command } from 'commander';
import { parseTime } from '../../core/units.js';
import { action, commaList, emit, withDocket } from '../context.js';
import { parseStatuses } from '../filters.js';

interface ClearFlags {
  before?: string;
  status?: string[];
  queue?: string;
}

export function register(program: Command): void {
  program
    .command('clear')
    .description('remove finished jobs and their logs (default: completed and cancelled)')
    .option('--before <when>', 'only jobs that ended before this (a duration ago, e.g. 7d, or ISO-8601)')
    .option('--status <states>', 'states to remove, comma-separated', commaList)
    .option('--queue <queue>', 'only this queue')
    .action(
      action(async (flags: ClearFlags, command: Command) => {
        const statuses = flags.status ? parseStatuses(flags.status) : undefined;
        const endedBefore = flags.before === undefined ? undefined : parseTime(flags.before, '--before', 'past');
        return withDocket(command, async (docket, options) => {
          const removed = await docket.clear({ statuses, endedBefore, queue: flags.queue });
          emit(options, { removed }, () => `removed ${removed} job${removed === 1 ? '' : 's'}`);
          return 0;
        });
      }),
    );
}
