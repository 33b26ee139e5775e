/**
 * Chaos: workers killed with SIGKILL at random moments while they drain command and handler jobs,
 * each replaced by a new worker. Checks that every job ends completed, that no process of a killed
 * worker's jobs is alive once its replacement has started, and that no job ran more often than
 * its recorded executions or twice at once.
 */
import { readFileSync } from 'node:fs';
import { TAG_VARIABLE } from '../../src/executors/local/processes.js';
import { allJobs, checkDrain, readRuns } from './checks.js';
import {
  type ChaosStore,
  commandJob,
  handlerJob,
  isAlive,
  markedProcesses,
  pause,
  processTable,
  submitAll,
  until,
  type WorkerPool,
  type WorkerProcess,
} from './store.js';

export interface ScenarioResult {
  figures: Record<string, string | number>;
  violations: string[];
}

export interface WorkerKillOptions {
  commands: number;
  handlers: number;
  workers: number;
  concurrency: number;
  /** Stop killing after this many kills (the drain then finishes undisturbed). */
  kills: number;
  /** Each command job sleeps up to this long, each handler job waits up to this long. */
  jobMs: number;
  /** A kill comes this long after the previous replacement started, at random within the range. */
  gapMs: [number, number];
}

/** Defines the chaos types in the harness's docket, so it can submit them before a worker stored them. */
export function defineChaosTypes(docket: Awaited<ReturnType<ChaosStore['open']>>): void {
  docket.define({ name: 'chaos', handler: () => null });
  docket.define({ name: 'noop', handler: () => null });
}

export async function workerKills(
  store: ChaosStore,
  pool: WorkerPool,
  options: WorkerKillOptions,
): Promise<ScenarioResult> {
  const violations: string[] = [];
  const docket = await store.open();
  defineChaosTypes(docket);
  try {
    const specs = [
      ...Array.from({ length: options.commands }, () => commandJob(store, options.jobMs)),
      ...Array.from({ length: options.handlers }, () => handlerJob(store, options.jobMs)),
    ].sort(() => Math.random() - 0.5);
    const ids = await submitAll(docket, specs);
    const started = Date.now();
    for (let i = 0; i < options.workers; i++) pool.start();
    await waitRegistered(docket, pool);

    const drained = async () => {
      pool.assertLive();
      for (const worker of pool.replaceBroken()) violations.push(brokenWorker(pool, worker));
      return (await docket.counts()).completed === ids.length;
    };
    let kills = 0;
    let lingering = 0;
    let longestLingerMs = 0;
    const replacementMs: number[] = [];
    while (kills < options.kills && !(await drained())) {
      const [low, high] = options.gapMs;
      await pause(low + Math.random() * (high - low));
      const live = pool.live();
      const victim = live[Math.floor(Math.random() * live.length)];
      if (!victim) break;
      const victimId = (await docket.engine.listWorkers()).find((worker) => worker.pid === victim.pid)?.id;
      pool.kill(victim);
      const killedAt = Date.now();
      kills++;
      await until('the killed worker to exit', () => victim.exit !== undefined, 60_000);
      // Its jobs' processes, even one it spawned an instant before the kill: they carry its tag.
      if (victimId === undefined) violations.push(`kill ${kills}: worker ${victim.pid} was not registered`);
      const orphans = victimId === undefined ? [] : processesOfWorker(store, victimId);
      const replacement = pool.start();
      await waitRegistered(docket, pool);
      replacementMs.push(Date.now() - killedAt);
      const alive = orphans.filter(isAlive);
      if (alive.length > 0) {
        lingering += alive.length;
        violations.push(
          `kill ${kills}: ${alive.length} processes of worker ${victim.pid}'s jobs were alive after its replacement ${replacement.pid} started`,
        );
        const gone = await until('the orphans to end', () => alive.every((pid) => !isAlive(pid)), 60_000).catch(
          () => false,
        );
        if (!gone) violations.push(`kill ${kills}: processes ${alive.filter(isAlive)} still alive a minute later`);
        longestLingerMs = Math.max(longestLingerMs, Date.now() - killedAt);
      }
    }
    const finished = await until('every job to complete', drained, 600_000).catch(() => false);
    if (!finished)
      violations.push(`the drain did not finish within 10 minutes: ${JSON.stringify(await docket.counts())}`);
    const elapsed = (Date.now() - started) / 1000;
    await pool.stopAll();
    const deaths = deathTimes(pool);
    const leftovers = markedProcesses(store, new Set());
    if (leftovers.length > 0) violations.push(`${leftovers.length} job processes outlived every worker: ${leftovers}`);
    for (const worker of pool.unexpectedExits()) {
      violations.push(`worker ${worker.pid} exited by itself (${JSON.stringify(worker.exit)}): ${pool.tail(worker)}`);
    }
    const check = checkDrain(await allJobs(docket), ids, readRuns(store.runs), deaths);
    violations.push(...check.violations);
    replacementMs.sort((a, b) => a - b);
    return {
      violations,
      figures: {
        jobs: `${options.commands} commands + ${options.handlers} handlers`,
        workers: `${options.workers} × concurrency ${options.concurrency}`,
        SIGKILLs: kills,
        'drain (s)': elapsed.toFixed(1),
        'executions lost and retried': check.figures.extraExecutions,
        'most executions of one job': check.figures.maxExecutions,
        'real runs (runs file)': check.figures.realRuns,
        'kill → replacement registered, median (ms)': replacementMs[Math.floor(replacementMs.length / 2)] ?? '-',
        'job processes alive after the replacement started': lingering,
        ...(lingering > 0 && { 'longest orphan life (ms)': longestLingerMs }),
      },
    };
  } finally {
    await pool.stopAll();
    await docket.close();
  }
}

/**
 * When each worker died: the moment it was sent SIGKILL, else when its exit was seen (an upper
 * bound: the harness may notice late).
 */
export function deathTimes(pool: WorkerPool): Map<number, number> {
  return new Map(
    pool.all.filter((w) => w.exit).map((w) => [w.pid, Math.min(w.sigkilledAt ?? Infinity, w.exit?.at as number)]),
  );
}

/** Live processes of the store's jobs with no live worker among their ancestors. */
/**
 * Live processes of one worker's job attempts: every process of an attempt carries the attempt's
 * tag (DOCKET_JOB_TAG=<job>.<execution>.<worker id>), children included. (Walking up the parents
 * instead took a process of a live worker for an orphan when it and its parent were created while
 * /proc was being read: the child was listed, its parent not, so no live worker was found above it.)
 */
function processesOfWorker(store: ChaosStore, workerId: string): number[] {
  const table = processTable();
  return markedProcesses(store, new Set()).filter((pid) => {
    const environ = table.get(pid)?.environ ?? '';
    const at = environ.indexOf(`${TAG_VARIABLE}=`);
    if (at < 0) return false;
    const end = environ.indexOf('\0', at);
    return environ.slice(at, end < 0 ? undefined : end).endsWith(`.${workerId}`);
  });
}

/** A violation naming a worker whose command failed but whose process did not exit. */
export function brokenWorker(pool: WorkerPool, worker: WorkerProcess): string {
  const failure = /docket: unexpected error: .*/.exec(readFileSync(worker.log, 'utf8'))?.[0];
  return `worker ${worker.pid} failed (${failure}) but did not exit; last lines: ${pool.tail(worker, 2).slice(0, 600)}`;
}

/** Waits until every live worker of the pool is registered (it reconciled and stored its types first). */
export async function waitRegistered(docket: Awaited<ReturnType<ChaosStore['open']>>, pool: WorkerPool): Promise<void> {
  await until(
    'the workers to register',
    async () => {
      const registered = new Set((await docket.engine.listWorkers()).map((worker) => worker.pid));
      return pool.live().every((worker) => registered.has(worker.pid));
    },
    120_000,
  );
}
