/** `docket progress`: a count of jobs in every state, zeros included, and a total. */
import type { Command } from 'commander';
import { action, emit, withDocket } from '../context.js';
import { countsTable } from '../format.js';

export function register(program: Command): void {
  program
    .command('progress')
    .description('count jobs in every state')
    .option('--queue <queue>', 'only this queue')
    .action(
      action(async (flags: { queue?: string }, command: Command) =>
        withDocket(command, async (docket, options) => {
          const counts = await docket.counts({ queue: flags.queue });
          emit(options, counts, () => countsTable(counts));
          return 0;
        }),
      ),
    );
}
