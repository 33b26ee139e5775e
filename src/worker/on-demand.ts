/**
 * No daemon: when a job is submitted and no live worker serves its queue, start one in the
 * background, detached from the caller, which exits by itself once its queues stay idle.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { processStartTime } from '../core/processes.js';
import type { WorkerInfo } from '../core/words.js';
import { findUp } from '../paths.js';
import type { StorageEngine } from '../storage/engine.js';
import { serves } from '../storage/registrations.js';
import { onThisMachine } from './machine.js';
import { poke } from './wake.js';

/** How often the registrations may change under startWorkerOnce's judging before it gives up. */
const MAX_JUDGING_ROUNDS = 5;

const cliEntry = () => findUp(import.meta.url, join('bin', 'docket.js'));

export { serves } from '../storage/registrations.js';

/**
 * Pokes the live workers serving these queues, without waiting for the pokes to land; returns the
 * queues that none serves. Only workers of this machine are poked: a worker elsewhere is live by
 * its lease and hears of new work through its store, and its loopback port means nothing here.
 * (Those of this machine are live only while their process is: `workerAlive`.)
 */
export function wakeWorkers(liveWorkers: WorkerInfo[], queues: Iterable<string>): string[] {
  const unserved: string[] = [];
  const toPoke = new Set<string>();
  for (const queue of queues) {
    const serving = liveWorkers.filter((worker) => serves(worker, queue));
    if (serving.length === 0) unserved.push(queue);
    for (const worker of serving) {
      if (worker.wakeAddress && onThisMachine(worker)) toPoke.add(worker.wakeAddress);
    }
  }
  for (const address of toPoke) void poke(address);
  return unserved;
}

export interface SpawnOptions {
  home: string;
  db: string;
  logsDir: string;
  /** The worker config file the worker loads; none when undefined (never one it finds by itself). */
  workerConfig?: string;
}

/**
 * Starts a detached worker serving every queue, unless a live one already serves `queue`. The check
 * and a placeholder registration are one atomic step, so of many processes submitting at once only
 * one starts a worker; the placeholder then takes the child's pid. Liveness is judged here, between
 * the engine's steps, never inside its transaction: the engine names the serving workers not yet
 * judged dead, and registers the placeholder once every one of them is (and unchanged).
 */
export async function startWorkerOnce(
  engine: StorageEngine,
  options: SpawnOptions,
  queue: string,
  isAlive: (worker: WorkerInfo) => boolean,
): Promise<WorkerInfo | null> {
  const now = Date.now();
  const placeholder: WorkerInfo = {
    id: `w-${randomBytes(6).toString('hex')}`,
    host: hostname(),
    pid: process.pid,
    pidStart: processStartTime(process.pid),
    queues: ['*'],
    concurrency: 0,
    wakeAddress: null,
    startedAt: now,
    heartbeatAt: now,
  };
  const dead: WorkerInfo[] = [];
  for (let round = 0; ; round++) {
    const registration = await engine.registerWorkerIfNone(placeholder, queue, dead);
    if (registration.registered) break;
    // Registrations that keep changing under the judging belong to workers that are alive.
    if (round === MAX_JUDGING_ROUNDS || registration.serving.some(isAlive)) return null;
    dead.push(...registration.serving);
  }
  mkdirSync(options.logsDir, { recursive: true });
  const logFd = openSync(join(options.logsDir, 'workers.log'), 'a');
  const child = spawn(
    process.execPath,
    [
      cliEntry(),
      '--home',
      options.home,
      '--db',
      options.db,
      'worker',
      '--on-demand',
      ...(options.workerConfig ? ['--config', options.workerConfig] : ['--no-config']),
    ],
    {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: { ...process.env, DOCKET_WORKER_ID: placeholder.id },
    },
  );
  closeSync(logFd);
  child.unref();
  const pid = child.pid as number;
  const worker = { ...placeholder, pid, pidStart: processStartTime(pid) };
  await engine.registerWorker(worker);
  return worker;
}
