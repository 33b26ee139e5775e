/** `docket db migrate`: bring the store's schema up to date (also done on every open). */
import type { Command } from 'commander';
import { Docket } from '../../docket.js';
import { describeStore } from '../../store.js';
import { action, emit, globals } from '../context.js';

export function register(program: Command): void {
  program
    .command('db')
    .description('database maintenance')
    .command('migrate')
    .description('apply pending schema migrations')
    .action(
      action(async (_flags: unknown, command: Command) => {
        const options = globals(command);
        const docket = await Docket.open({ db: options.db, home: options.home, manageWorkers: false });
        try {
          const version = await docket.schemaVersion();
          const { location } = describeStore(docket.config.db);
          emit(options, { db: location, schema_version: version }, () => `${location}: schema version ${version}`);
          return 0;
        } finally {
          await docket.close();
        }
      }),
    );
}
