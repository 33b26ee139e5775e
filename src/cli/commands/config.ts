/** `docket config show` and `docket config reset-db`. */
import type { Command } from 'commander';
import { resolveConfig } from '../../config/config.js';
import { InvalidInputError, InvalidStateError } from '../../core/errors.js';
import { formatDuration } from '../../core/units.js';
import { detectInventory } from '../../resources/inventory.js';
import { describeInventory } from '../../resources/reasons.js';
import { describeStore } from '../../store.js';
import { action, emit, globals, withDocket } from '../context.js';
import { inventoryJson } from '../format.js';

export function register(program: Command): void {
  const config = program.command('config').description('show settings or reset the database');
  config
    .command('show')
    .description('show where data lives and the settings in force, with where each came from')
    .action(
      action(async (_flags: unknown, command: Command) => {
        const options = globals(command);
        const settings = resolveConfig({ db: options.db, home: options.home });
        const store = describeStore(settings.db, settings.schema);
        const postgres = store.engine === 'postgres';
        const inventory = detectInventory(settings.resources);
        const schema = store.schema;
        const json = {
          home: settings.home,
          db: store.location,
          engine: store.engine,
          schema,
          logs_dir: settings.logsDir,
          worker: {
            concurrency: settings.worker.concurrency,
            idle_exit_ms: settings.worker.idleExitMs,
            grace_ms: settings.worker.graceMs,
            lease_ms: settings.worker.leaseMs,
            on_demand: settings.worker.onDemand ?? !postgres,
            prune_after_ms: settings.worker.pruneAfterMs,
          },
          slurm: {
            bin: settings.slurm.bin,
            prefix: settings.slurm.prefix,
            cluster: settings.slurm.cluster,
          },
          // Local resources: what a worker started here would hand out.
          resources: inventoryJson(inventory),
          sources: settings.sources,
        };
        emit(options, json, () =>
          [
            `home:         ${settings.home}  (${settings.sources.home})`,
            `db:           ${store.location}  (${settings.sources.db})`,
            ...(schema ? [`schema:       ${schema}`] : []),
            `logs:         ${settings.logsDir}`,
            `concurrency:  ${settings.worker.concurrency}  (${settings.sources.concurrency})`,
            `idle exit:    ${formatDuration(settings.worker.idleExitMs / 1000)}  (${settings.sources.idle_exit})`,
            `grace:        ${formatDuration(settings.worker.graceMs / 1000)}  (${settings.sources.grace})`,
            `on-demand:    ${settings.worker.onDemand ?? !postgres}  (${settings.sources.on_demand}${settings.worker.onDemand === null ? `: on for SQLite, off for PostgreSQL` : ''})`,
            `prune after:  ${settings.worker.pruneAfterMs === null ? 'never' : formatDuration(settings.worker.pruneAfterMs / 1000)}  (${settings.sources.prune_after})`,
            `slurm bin:    ${settings.slurm.bin ?? '(PATH)'}  (${settings.sources.slurm_bin})`,
            `slurm prefix: ${settings.slurm.prefix.join(' ') || '(none)'}  (${settings.sources.slurm_prefix})`,
            `slurm cluster: ${settings.slurm.cluster ?? '(default)'}  (${settings.sources.slurm_cluster})`,
            `resources:    ${describeInventory(inventory)}`,
          ].join('\n'),
        );
        return 0;
      }),
    );
  config
    .command('reset-db')
    .description('delete every job record and log (asks for --yes)')
    .option('--yes', 'really delete everything')
    .action(
      action(async (flags: { yes?: boolean }, command: Command) => {
        if (!flags.yes)
          throw new InvalidInputError('--yes', 'reset-db deletes every job and log; add --yes to confirm');
        return withDocket(command, async (docket, options) => {
          const counts = await docket.counts();
          if (counts.running + counts.suspended > 0) {
            throw new InvalidStateError(
              `${counts.running + counts.suspended} jobs are running or suspended; cancel them before resetting`,
            );
          }
          await docket.resetDb();
          emit(
            options,
            { reset: true, removed: counts.total },
            () => `removed ${counts.total} jobs; the database is empty`,
          );
          return 0;
        });
      }),
    );
}
