/**
 * Chaos: processes killed with SIGKILL in the middle of single and bulk submits — library
 * programs submitting in a loop, and `docket submit` CLI calls. Every acknowledged job must be
 * stored whole, a bulk submit stored all or none, and a SQLite file must pass `integrity_check`.
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Job } from '../../src/core/words.js';
import { allJobs } from './checks.js';
import { type ChaosStore, CLI, cleanEnv, pause, ROOT, until } from './store.js';
import type { ScenarioResult } from './workers.js';

export interface SubmitterKillOptions {
  /** Library submitter processes to kill. */
  programs: number;
  /** `docket submit` processes to kill. */
  cli: number;
}

const QUEUE = 'chaos-idle';

/** A program that submits for ever — single jobs and batches of up to 200 — logging what it did. */
const SUBMITTER = `
import { openSync, writeSync } from 'node:fs';
import { Docket } from ${JSON.stringify(join(ROOT, 'dist', 'index.js'))};
const [tag, ackPath] = process.argv.slice(2);
const ack = openSync(ackPath, 'a');
const docket = await Docket.open({ manageWorkers: false });
const job = (batch, i) => ({ command: 'echo ' + batch + '-' + i, name: batch + '-' + i, key: batch + '-' + i, queue: '${QUEUE}', env: { BATCH: batch } });
for (let n = 0; ; n++) {
  const batch = tag + '-' + n;
  const size = n % 3 === 2 ? 2 + ((n * 37) % 199) : 1;
  writeSync(ack, 'intent ' + batch + ' ' + size + '\\n');
  const jobs = size === 1 ? [await docket.submit(job(batch, 0))] : await docket.submitMany(Array.from({ length: size }, (_, i) => job(batch, i)));
  writeSync(ack, 'ack ' + batch + ' ' + jobs.map((j) => j.id).join(',') + '\\n');
}
`;

export async function submitterKills(store: ChaosStore, options: SubmitterKillOptions): Promise<ScenarioResult> {
  const script = join(store.home, 'submitter.mjs');
  writeFileSync(script, SUBMITTER);
  const env = { ...cleanEnv(), DOCKET_HOME: store.home, DOCKET_DB: store.db, DOCKET_ON_DEMAND: '0' };
  // Migrate first: a program killed in its very first migration is another scenario.
  await (await store.open()).close();

  const logs: string[] = [];
  for (let k = 0; k < options.programs; k++) {
    const acks = join(store.home, `acks-${k}.txt`);
    writeFileSync(acks, '');
    logs.push(acks);
    const child = spawn(process.execPath, [script, `s${k}`, acks], { env, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Kill at a random moment once it has begun to submit.
    await until('the submitter to begin', () => statSync(acks).size > 0 || child.exitCode !== null, 60_000);
    await pause(Math.random() * 600);
    child.kill('SIGKILL');
    await exited;
  }
  const cliAcks = await killCliSubmits(store, env, options.cli);

  const docket = await store.open();
  try {
    const jobs = (await allJobs(docket)).filter((job) => job.queue === QUEUE);
    const result = checkSubmits(jobs, logs.map((file) => readFileSync(file, 'utf8')).join(''), cliAcks);
    if (store.engine === 'sqlite') {
      const db = new Database(store.db, { readonly: true, timeout: 60_000 });
      const integrity = db.pragma('integrity_check', { simple: true });
      const foreign = db.pragma('foreign_key_check') as unknown[];
      db.close();
      result.figures['SQLite integrity_check'] = String(integrity);
      if (integrity !== 'ok') result.violations.push(`integrity_check: ${integrity}`);
      if (foreign.length > 0) result.violations.push(`foreign_key_check: ${JSON.stringify(foreign.slice(0, 3))}`);
    }
    result.figures['submitter programs killed'] = options.programs;
    result.figures['docket submit calls killed'] = options.cli;
    return result;
  } finally {
    await docket.close();
  }
}

/**
 * `docket submit` calls killed at a random moment of their run: the first call, left alone, says
 * how long one takes, and the others are killed between a third of that and all of it.
 */
async function killCliSubmits(
  store: ChaosStore,
  env: Record<string, string>,
  count: number,
): Promise<Map<string, number>> {
  const acked = new Map<string, number>();
  let typicalMs = 0;
  for (let k = 0; k <= count; k++) {
    const name = `cli-${k}`;
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [CLI, '--json', 'submit', '--queue', QUEUE, '--job-name', name, '--key', name, '--cmd', `echo ${name}`],
      { env, cwd: store.home, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    const exited = new Promise((resolve) => child.once('close', resolve));
    if (k === 0) {
      await exited;
      typicalMs = Date.now() - started;
    } else {
      await pause(typicalMs * (1 / 3 + (Math.random() * 2) / 3));
      child.kill('SIGKILL');
      await exited;
    }
    if (stdout.trim()) acked.set(name, (JSON.parse(stdout) as { id: number }).id);
  }
  return acked;
}

function checkSubmits(jobs: Job[], log: string, cliAcks: Map<string, number>): ScenarioResult {
  const violations: string[] = [];
  const byName = new Map<string, Job>();
  for (const job of jobs) {
    if (byName.has(job.name)) violations.push(`two jobs are named ${job.name}`);
    byName.set(job.name, job);
    const whole =
      job.command === `echo ${job.name}` && job.key === job.name && job.status === 'pending' && job.type === 'command';
    if (!whole) violations.push(`job ${job.id} is not what was submitted: ${JSON.stringify(job)}`);
  }
  const sizes = new Map<string, number>();
  const acked = new Map<string, number[]>();
  for (const line of log.split('\n')) {
    const [word, batch, value] = line.split(' ');
    if (word === 'intent') sizes.set(batch as string, Number(value));
    if (word === 'ack') acked.set(batch as string, (value as string).split(',').map(Number));
  }
  // Stored batches: every job of a batch, or none.
  const stored = new Map<string, number>();
  for (const job of jobs) {
    if (job.name.startsWith('cli-')) continue;
    const batch = job.name.slice(0, job.name.lastIndexOf('-'));
    if (job.env.BATCH !== batch) violations.push(`job ${job.id} (${job.name}) lost its environment`);
    stored.set(batch, (stored.get(batch) ?? 0) + 1);
  }
  let ackedJobs = 0;
  let bulkAcked = 0;
  let storedUnacked = 0;
  for (const [batch, count] of stored) {
    const size = sizes.get(batch);
    if (size === undefined) violations.push(`batch ${batch} is stored but was never submitted`);
    else if (count !== size) violations.push(`batch ${batch} is half-written: ${count} of ${size} jobs stored`);
    if (!acked.has(batch)) storedUnacked++;
  }
  for (const [batch, ids] of acked) {
    ackedJobs += ids.length;
    if (ids.length > 1) bulkAcked++;
    ids.forEach((id, i) => {
      const job = byName.get(`${batch}-${i}`);
      if (job?.id !== id) violations.push(`acknowledged job ${id} (${batch}-${i}) is not stored as acknowledged`);
    });
  }
  for (const [name, id] of cliAcks) {
    if (byName.get(name)?.id !== id) violations.push(`docket submit acknowledged job ${id} (${name}), not stored`);
  }
  const lost = [...sizes.keys()].filter((batch) => !stored.has(batch) && !acked.has(batch)).length;
  return {
    violations,
    figures: {
      'acknowledged jobs': ackedJobs + cliAcks.size,
      'acknowledged bulk submits': bulkAcked,
      'submits cut by the kill: stored whole before the ack': storedUnacked,
      'submits cut by the kill: not stored at all': lost,
      'docket submit calls acknowledged (the first, not killed, times them)': cliAcks.size,
    },
  };
}
