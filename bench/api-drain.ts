/**
 * One W2 drain in a process of its own (bench/api.ts starts it): an in-process worker of
 * concurrency 10 drains the no-op handler jobs already queued; prints
 * `{"jobsPerSecond": …, "cpuMsPerJob": …}` (CPU: this process's user + system time, which holds
 * every store write of the drain on SQLite, so it shows what event triggers cost even on a busy
 * machine where rates swing).
 * Usage: node --import tsx bench/api-drain.ts HOME DB N
 */
import { Docket } from '../src/docket.js';

const [home, db, count] = process.argv.slice(2) as [string, string, string];
const docket = await Docket.open({ home, db, manageWorkers: false });
docket.define({ name: 'noop', handler: () => undefined });
const worker = docket.worker({ concurrency: 10 });
const started = performance.now();
const cpuBefore = process.cpuUsage();
const running = worker.run();
for (;;) {
  if ((await docket.list({ statuses: ['pending', 'running'], limit: 1 })).length === 0) break;
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
worker.stop();
await running;
const completed = (await docket.counts()).completed;
await docket.close();
if (completed < Number(count)) throw new Error(`only ${completed} of ${count} jobs completed`);
const cpuMsPerJob = (cpu.user + cpu.system) / 1000 / Number(count);
process.stdout.write(`${JSON.stringify({ jobsPerSecond: Number(count) / seconds, cpuMsPerJob })}\n`);
