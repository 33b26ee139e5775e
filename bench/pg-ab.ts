/**
 * A/B of the PostgreSQL hot statement (endAttempts' outcomes + claim of 10) on two schemas at once, batches
 * interleaved, so both variants see the same load: server CPU (backend, /proc) per batch of 10.
 *   node --import tsx bench/pg-ab.ts --a "SQL for A" --b "SQL for B" [--n 5000] [--rounds 20]
 * SQL may name the schema as SCHEMA. Experiments only.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Docket } from '../src/docket.js';

const { values: args } = parseArgs({
  options: {
    a: { type: 'string', default: '' },
    b: { type: 'string', default: '' },
    n: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '20' },
    db: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const N = Number(args.n);
const ROUNDS = Number(args.rounds);
const admin = new pg.Client({ connectionString: args.db });
await admin.connect();

async function backendCpu(app: string): Promise<number> {
  const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
    app,
  ]);
  let us = 0;
  for (const { pid } of rows) {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    us += (Number(f[11]) + Number(f[12])) * 10_000;
  }
  return us;
}

async function side(name: string, sql: string) {
  const schema = `ab_${name}_${process.pid}`;
  const home = mkdtempSync(join(tmpdir(), 'docket-ab-'));
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  const docket = await Docket.open({ home, db: `${args.db}?schema=${schema}`, manageWorkers: false });
  docket.define({ name: 'bench', handler: () => undefined });
  await docket.saveTypes();
  if (sql) await admin.query(sql.replaceAll('SCHEMA', schema));
  for (let i = 0; i < N; i += 1000) {
    await docket.submitMany(
      Array.from({ length: Math.min(1000, N - i) }, (_, k) => ({ type: 'bench', params: { i: i + k } })),
    );
  }
  // biome-ignore lint/suspicious/noExplicitAny: experiments reach inside
  const worker: any = docket.worker({ concurrency: 10, queues: ['*'] });
  const request = worker.claimRequest(10);
  // biome-ignore lint/suspicious/noExplicitAny: experiments reach inside
  const engine: any = (docket as any).engine;
  let inHand = await engine.claim(request);
  return {
    schema,
    async batches(count: number) {
      let server = 0;
      let client = 0;
      const s0 = await backendCpu(`docket:${schema}`);
      const c0 = process.cpuUsage();
      for (let i = 0; i < count && inHand.length > 0; i++) {
        const finished = inHand.map((job: { id: number; runNo: number }) => ({
          how: 'outcome',
          jobId: job.id,
          runNo: job.runNo,
          outcome: { status: 'completed', exitCode: null, result: null },
        }));
        inHand = (await engine.endAttempts(finished, request)).claimed;
      }
      const c = process.cpuUsage(c0);
      client += c.user + c.system;
      server += (await backendCpu(`docket:${schema}`)) - s0;
      return { server, client };
    },
    async close() {
      await docket.close();
      rmSync(home, { recursive: true, force: true });
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}

const A = await side('a', args.a ?? '');
const B = await side('b', args.b ?? '');
const per = Math.floor(N / 10 / ROUNDS);
const res = { a: { s: [] as number[], c: [] as number[] }, b: { s: [] as number[], c: [] as number[] } };
for (let r = 0; r < ROUNDS; r++) {
  for (const [k, side] of (r % 2
    ? [
        ['b', B],
        ['a', A],
      ]
    : [
        ['a', A],
        ['b', B],
      ]) as ['a' | 'b', typeof A][]) {
    const { server, client } = await side.batches(per);
    res[k].s.push(server / per);
    res[k].c.push(client / per);
  }
}
const med = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)] as number;
const sum = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
console.log(`load ${readFileSync('/proc/loadavg', 'utf8').trim()}; ${per} batches of 10 per round, ${ROUNDS} rounds`);
for (const k of ['a', 'b'] as const) {
  console.log(
    `${k}: server µs/batch median ${med(res[k].s).toFixed(0)} mean ${sum(res[k].s).toFixed(0)}; client µs/batch median ${med(res[k].c).toFixed(0)} mean ${sum(res[k].c).toFixed(0)}`,
  );
}
await A.close();
await B.close();
await admin.end();
