/** What every CLI command shares: opening the docket, reconciling first, and printing results. */
import type { Command } from 'commander';
import { findWorkerConfig, loadWorkerConfig } from '../config/worker-config.js';
import { Docket } from '../docket.js';

export interface GlobalOptions {
  db?: string;
  home?: string;
  json?: boolean;
}

export function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

/**
 * Opens the docket for one command, reconciles what it is about to show (daemonless mode), runs
 * the command and closes the store. Returns the command's exit code.
 */
export async function withDocket(
  command: Command,
  work: (docket: Docket, options: GlobalOptions) => Promise<number | undefined>,
  { reconcile = true } = {},
): Promise<number> {
  const options = globals(command);
  // The CLI is daemonless: it starts on-demand workers, which load the worker config found here.
  const docket = await Docket.open({
    db: options.db,
    home: options.home,
    onDemandWorkers: true,
    workerConfig: findWorkerConfig(undefined) ?? undefined,
  });
  try {
    // Showing something never starts a worker; commands that make or await work start one themselves.
    if (reconcile) await docket.reconcile({ startWorkers: false });
    return (await work(docket, options)) ?? 0;
  } finally {
    await docket.close();
  }
}

/** Prints exactly one JSON document with --json, or the text otherwise. */
export function emit(options: GlobalOptions, json: unknown, text: () => string): void {
  if (options.json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  else {
    const body = text();
    if (body) process.stdout.write(`${body}\n`);
  }
}

/** Splits `a,b` lists given once or many times. */
export function commaList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  ];
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * The exit status of a command whose reader went away (`docket list | head`): 128 + SIGPIPE, what
 * a shell reports for `ls` or `git log` in the same place. Nothing is printed.
 */
export const EXIT_BROKEN_PIPE = 141;

const brokenPipeCleanups = new Set<() => Promise<unknown>>();
let ending: Promise<never> | null = null;

/** Registers work to do before exiting on a closed stdout (e.g. `run` cancels its job); returns the unregister. */
export function onBrokenPipe(cleanup: () => Promise<unknown>): () => void {
  brokenPipeCleanups.add(cleanup);
  return () => brokenPipeCleanups.delete(cleanup);
}

/** Ends the process quietly because stdout was closed, after the registered clean-ups. */
export async function endOnBrokenPipe(): Promise<never> {
  if (ending) return ending;
  ending = new Promise<never>(() => {});
  await Promise.allSettled([...brokenPipeCleanups].map((cleanup) => cleanup()));
  process.exit(EXIT_BROKEN_PIPE);
}

/** True once stdout's reader went away: nothing more is worth printing. */
export function stdoutClosed(): boolean {
  return ending !== null;
}

/** True for the error of writing to a pipe nobody reads any more. */
export function isBrokenPipe(error: unknown): boolean {
  // Once the pipe broke, later writes fail as "destroyed": the same cause.
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'EPIPE' || (ending !== null && code === 'ERR_STREAM_DESTROYED');
}

let exitCode = 0;

/** Wraps a command's handler so that the number it returns becomes the process's exit code. */
// biome-ignore lint/suspicious/noExplicitAny: commander passes each command's own argument tuple
export function action<A extends any[]>(
  handler: (...args: A) => Promise<number | undefined>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    exitCode = (await handler(...args)) ?? 0;
  };
}

export function takeExitCode(): number {
  const code = exitCode;
  exitCode = 0;
  return code;
}

/**
 * Loads the job types of the worker config file in the working directory (or `path`), so that a
 * submit can check params of types no worker has stored yet. Returns the loaded config, if any.
 */
export async function loadTypes(docket: Docket, { path, queues = false }: { path?: string; queues?: boolean } = {}) {
  const found = findWorkerConfig(path);
  if (found === null) return null;
  const config = await loadWorkerConfig(found);
  await docket.applyConfig(config, { queues });
  return config;
}
