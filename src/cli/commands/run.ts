/** `docket run`: submit, stream the job's output live, and exit with the job's exit code. */
import { constants } from 'node:os';
import type { Command } from 'commander';
import { EXIT, InvalidStateError } from '../../core/errors.js';
import type { Job } from '../../core/words.js';
import type { Docket } from '../../docket.js';
import { action, emit, loadTypes, onBrokenPipe, stdoutClosed, withDocket } from '../context.js';
import { followJob } from '../follow.js';
import { jobJson } from '../format.js';
import { runView } from '../run-view.js';
import { addJobOptions, type SubmitFlags, specFromFlags, submitOnce } from './submit.js';

/** The exit code that stands for a finished job, as a shell would report it. */
export function exitCodeOf(job: Job): number {
  switch (job.status) {
    case 'completed':
      return 0;
    case 'timeout':
      return EXIT.timeout;
    case 'cancelled':
      return EXIT.cancelled;
    case 'failed':
      if (job.exitCode !== null && job.exitCode !== 0) return job.exitCode;
      if (job.signal) return 128 + (constants.signals[job.signal as NodeJS.Signals] ?? 0);
      return 1;
    default:
      return 1;
  }
}

export function register(program: Command): void {
  addJobOptions(
    program.command('run').description("submit a job, stream its output, and exit with the job's exit code"),
  ).action(
    action(async (argv: string[], flags: SubmitFlags, command: Command) => {
      const spec = specFromFlags(flags, argv);
      return withDocket(command, async (docket, options) => {
        if (spec.type !== undefined) await loadTypes(docket);
        // Ctrl-C stops the job too, as it would a command run in the foreground (see onInterrupt).
        const interrupt = onInterrupt(docket);
        process.on('SIGINT', interrupt.signal);
        process.on('SIGTERM', interrupt.signal);
        // A live worker gets the job (the submit woke it). With none, run the job here rather than
        // start a second process and wait for it; a job of a type this process cannot run gets one.
        const job = await submitOnce(
          docket,
          spec,
          { startWorkers: false },
          'following that job (its output is from its own run), not running the command again',
        ).catch((error) => {
          process.off('SIGINT', interrupt.signal);
          process.off('SIGTERM', interrupt.signal);
          throw error;
        });
        interrupt.follow(job.id);
        const here =
          job.status === 'pending' &&
          job.scheduler === 'local' &&
          docket.canRun(job.type) &&
          !(await docket.hasWorkerFor(job.queue));
        if (!here) await docket.reconcile();
        const worker = here ? docket.worker({ concurrency: 1, onlyJobs: [job.id] }) : null;
        const working = worker?.run();
        // A closed stdout (`docket run … | head`) stops the job as SIGPIPE would stop a command.
        const unregister = onBrokenPipe(() =>
          docket.cancel(job.id, 'output closed (the reader of docket run went away)'),
        );
        try {
          const view = options.json ? { stdout: null, stderr: null } : runView(docket);
          const final = await followJob(docket, job.id, view).finally(() => 'done' in view && view.done());
          if (options.json) emit(options, jobJson(final), () => '');
          else if (final.status !== 'completed' && !stdoutClosed())
            process.stderr.write(`docket: job ${final.id} ${final.status}${final.error ? `: ${final.error}` : ''}\n`);
          return exitCodeOf(final);
        } finally {
          unregister();
          worker?.stop();
          await working;
          // The job's processes are stopped before this process may exit (and until then, signals
          // are still taken as "cancel", not as "die now").
          await interrupt.settled();
          process.off('SIGINT', interrupt.signal);
          process.off('SIGTERM', interrupt.signal);
        }
      });
    }),
  );
}

/**
 * What Ctrl-C (or SIGTERM) does to a `docket run`: cancel the job — once, even if pressed again
 * while its processes are being stopped, so the run never dies halfway and leaves them running. A
 * signal that arrives while the job is being submitted cancels it as soon as it exists. A cancel
 * that fails is reported; the run then follows the job and exits with its real outcome.
 */
function onInterrupt(docket: Docket): {
  signal: () => void;
  follow: (id: number) => void;
  settled: () => Promise<void>;
} {
  let jobId: number | null = null;
  let requested = false;
  let cancelling: Promise<void> | null = null;
  const cancel = () => {
    if (jobId === null || cancelling) return;
    const id = jobId;
    cancelling = docket.cancel(id, 'interrupted (docket run received SIGINT)').then(
      () => {},
      (error: Error) => {
        cancelling = null;
        // A job that ended meanwhile needs no cancel: the run exits with its outcome.
        if (!(error instanceof InvalidStateError)) {
          process.stderr.write(`docket: could not cancel job ${id}: ${error.message}; still following it\n`);
        }
      },
    );
  };
  return {
    settled: async () => {
      await cancelling;
    },
    signal: () => {
      if (requested) process.stderr.write('docket: already cancelling the job; waiting for it to stop\n');
      requested = true;
      cancel();
    },
    follow: (id) => {
      jobId = id;
      if (requested) cancel();
    },
  };
}
