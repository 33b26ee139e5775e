/**
 * No daemon: when a job is submitted and no live worker serves its queue, start one in the
 * background, detached from the caller, which exits by itself once its queues stay idle.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkerInfo } from '../core/words.js';
import { processStartTime } from '../executors/local/processes.js';
import type { StorageEngine } from '../storage/engine.js';
import { poke } from './wake.js';

const CLI_ENTRY = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'docket.js');

export function serves(worker: WorkerInfo, queue: string): boolean {
  return worker.queues.includes('*') || worker.queues.includes(queue);
}

/** Pokes the live workers serving these queues; returns the queues that none serves. */
export async function wakeWorkers(liveWorkers: WorkerInfo[], queues: Iterable<string>): Promise<string[]> {
  const unserved: string[] = [];
  const toPoke = new Set<string>();
  for (const queue of queues) {
    const serving = liveWorkers.filter((worker) => serves(worker, queue));
    if (serving.length === 0) unserved.push(queue);
    for (const worker of serving) if (worker.wakeAddress) toPoke.add(worker.wakeAddress);
  }
  await Promise.all([...toPoke].map((address) => poke(address)));
  return unserved;
}

export interface SpawnOptions {
  home: string;
  db: string;
  logsDir: string;
}

/**
 * Starts a detached worker serving every queue and registers it at once (with the child's pid),
 * so concurrent submits see it before it has finished starting and do not start another.
 */
export async function startWorker(engine: StorageEngine, options: SpawnOptions): Promise<WorkerInfo> {
  mkdirSync(options.logsDir, { recursive: true });
  const logFd = openSync(join(options.logsDir, 'workers.log'), 'a');
  const id = `w-${randomBytes(6).toString('hex')}`;
  const child = spawn(
    process.execPath,
    [CLI_ENTRY, '--home', options.home, '--db', options.db, 'worker', '--on-demand'],
    {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: { ...process.env, DOCKET_WORKER_ID: id },
    },
  );
  child.unref();
  const now = Date.now();
  const pid = child.pid as number;
  const worker: WorkerInfo = {
    id,
    host: hostname(),
    pid,
    pidStart: processStartTime(pid),
    queues: ['*'],
    concurrency: 0,
    wakeAddress: null,
    startedAt: now,
    heartbeatAt: now,
  };
  await engine.registerWorker(worker);
  return worker;
}
