/** `docket worker`: run jobs from the queues until stopped (SIGTERM/SIGINT shut it down gracefully). */
import { type Command, Option } from 'commander';
import type { Logger } from 'pino';
import { lazy } from '../../core/lazy.js';
import { formatDuration, parseCount, parseDuration } from '../../core/units.js';
import { Docket, type JobEvent } from '../../docket.js';
import { action, collect, globals, loadTypes } from '../context.js';
import { colourOn } from '../format.js';

const loadPino = lazy<typeof import('pino')>('pino');

/** The worker's log: readable lines on a terminal (pino-pretty), JSON lines otherwise (files, journald). */
async function workerLogger(): Promise<Logger> {
  const level = process.env.DOCKET_LOG_LEVEL ?? 'info';
  if (!process.stdout.isTTY) return loadPino()({ level });
  const { default: pretty } = await import('pino-pretty');
  const stream = pretty({
    colorize: colourOn(),
    sync: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname',
  });
  return loadPino()({ level }, stream);
}

/** Logs each job's start and end at info level: id, name, outcome and how long the attempt took. */
function logJobs(docket: Docket, logger: Logger): void {
  const started = new Map<number, number>();
  docket.on('job', ({ event, job }: JobEvent) => {
    if (event === 'started') {
      started.set(job.id, Date.now());
      logger.info({ job: job.id, name: job.name, queue: job.queue, attempt: job.runNo }, `job ${job.id} started`);
      return;
    }
    const since = started.get(job.id);
    if (since === undefined || event === 'progress') return;
    started.delete(job.id);
    const durationMs = Date.now() - since;
    const outcome = event === 'retrying' ? 'failed, will retry' : event;
    logger.info(
      {
        job: job.id,
        name: job.name,
        outcome,
        duration_ms: durationMs,
        exit_code: job.exitCode,
        error: job.error ?? undefined,
      },
      `job ${job.id} ${outcome} after ${formatDuration(durationMs / 1000)}`,
    );
  });
}

interface WorkerFlags {
  queue?: string[];
  concurrency?: string;
  idleExit?: string;
  onDemand?: boolean;
  config?: string | false;
  pruneAfter?: string;
}

export function register(program: Command): void {
  program
    .command('worker')
    .description('run queued jobs until stopped (or until idle with --idle-exit)')
    .option('--queue <queue>', 'serve this queue (repeatable; default: every queue)', collect)
    .option('--concurrency <n>', 'jobs to run at once (default: the number of cores)')
    .option('--idle-exit <duration>', 'exit after the queues stay idle this long')
    .option('--config <path>', 'worker config file (default: docket.config.{ts,mts,js,mjs,json} here)')
    .option('--no-config', 'load no worker config file')
    .option('--prune-after <duration>', 'delete completed, cancelled and skipped jobs this long after they ended')
    .addOption(new Option('--on-demand', 'started in the background by a submit (internal)').hideHelp())
    .action(
      action(async (flags: WorkerFlags, command: Command) => {
        const options = globals(command);
        const concurrency =
          flags.concurrency === undefined ? undefined : parseCount(flags.concurrency, '--concurrency');
        const idleExitMs =
          flags.idleExit === undefined ? undefined : parseDuration(flags.idleExit, '--idle-exit') * 1000;
        const pruneAfterMs =
          flags.pruneAfter === undefined ? undefined : parseDuration(flags.pruneAfter, '--prune-after') * 1000;
        const logger = await workerLogger();
        const docket = await Docket.open({ db: options.db, home: options.home, logger });
        logJobs(docket, logger);
        try {
          const config = flags.config === false ? null : await loadTypes(docket, { path: flags.config, queues: true });
          if (config)
            logger.info({ config: config.path, types: config.types.map((type) => type.name) }, 'loaded config');
          // Settle what dead workers left, but start no on-demand worker: this one serves the queues.
          // A store away now is no reason not to serve: the worker's heartbeats reconcile too.
          await docket
            .reconcile({ startWorkers: false })
            .catch((error) => logger.warn({ err: error }, 'could not reconcile at start; the heartbeats will'));
          const worker = docket.worker({
            id: process.env.DOCKET_WORKER_ID || undefined,
            queues: flags.queue ?? config?.worker.queues ?? ['*'],
            concurrency: concurrency ?? config?.worker.concurrency ?? docket.config.worker.concurrency,
            ...(idleExitMs !== undefined && { idleExitMs }),
            ...(pruneAfterMs !== undefined && { pruneAfterMs }),
            exitWhenIdle: flags.onDemand === true || idleExitMs !== undefined,
          });
          let signals = 0;
          let ended = false;
          const onSignal = (signal: NodeJS.Signals) => {
            signals++;
            logger.info({ signal }, signals === 1 ? 'shutting down gracefully' : 'second signal: exiting now');
            // A worker already gone (or a second signal) leaves nothing to wait for: exit now.
            if (signals === 1 && !ended) worker.stop();
            else process.exit(130);
          };
          process.on('SIGTERM', onSignal);
          process.on('SIGINT', onSignal);
          try {
            await worker.run();
          } finally {
            ended = true;
          }
          return 0;
        } finally {
          await docket.close();
        }
      }),
    );
}
