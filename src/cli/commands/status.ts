/** `docket status ID`: one job in full, with every attempt. */
import type { Command } from 'commander';
import { parseJobId } from '../../core/units.js';
import type { JobWithAttempts } from '../../core/words.js';
import { describeAllocation } from '../../resources/reasons.js';
import { action, emit, withDocket } from '../context.js';
import { elapsed, jobWithAttemptsJson, shortTime, statusLabel, table, truncate } from '../format.js';

function describe(job: JobWithAttempts): string {
  const r = job.resources;
  const resources = [
    r.cpuCount && `cpus=${r.cpuCount}`,
    r.memoryBytes && `memory=${formatBytes(r.memoryBytes)}`,
    r.gpuCount != null && `gpus=${r.gpuCount}`,
    r.pin != null && `pin=${r.pin}`,
    r.partition && `partition=${r.partition}`,
    r.account && `account=${r.account}`,
  ].filter(Boolean);
  const fields: [string, string | number | null][] = [
    ['id', job.id],
    ['name', job.name],
    ['status', statusLabel(job)],
    ['type', job.type],
    ['command', job.command ?? (job.argv ? JSON.stringify(job.argv) : null)],
    ['params', job.params === null ? null : truncate(JSON.stringify(job.params), 200)],
    ['result', job.result === null ? null : truncate(JSON.stringify(job.result), 200)],
    ['cwd', job.cwd],
    ['queue', job.queue],
    ['priority', job.priority],
    ['scheduler', job.schedulerJobId ? `${job.scheduler} (SLURM job ${job.schedulerJobId})` : job.scheduler],
    ['attempts', `${job.attempts}/${job.maxAttempts}`],
    ['depends on', job.dependsOn.length ? job.dependsOn.join(', ') : null],
    ['key', job.key],
    ['run at', new Date(job.runAt).toISOString()],
    ['time limit', job.timeLimitSeconds === null ? null : `${job.timeLimitSeconds}s`],
    ['resources', resources.length ? resources.join(' ') : null],
    // Local resources: what the latest attempt holds (or held), and why a pending job waits.
    ['allocated', allocated(job)],
    ['waiting', job.pendingReason ?? null],
    [
      'progress',
      job.progress === null ? null : `${Math.round(job.progress * 100)}% ${job.progressMessage ?? ''}`.trim(),
    ],
    ['created', shortTime(job.createdAt)],
    ['started', shortTime(job.startedAt)],
    ['ended', shortTime(job.endedAt)],
    ['elapsed', elapsed(job)],
    ['exit code', job.exitCode],
    ['signal', job.signal],
    ['error', job.error],
    ['host / pid', job.host ? `${job.host} / ${job.pid ?? '-'}` : null],
    ['worker', job.workerId],
  ];
  const head = fields
    .filter(([, value]) => value !== null && value !== '')
    .map(([label, value]) => `${`${label}:`.padEnd(12)}${value}`)
    .join('\n');
  if (job.executions.length === 0) return head;
  const attempts = table(
    ['ATTEMPT', 'STATUS', 'STARTED', 'ENDED', 'EXIT', 'HOST', 'PID', 'ERROR'],
    job.executions.map((a) => [
      a.attempt,
      a.status,
      shortTime(a.startedAt),
      shortTime(a.endedAt),
      a.exitCode ?? a.signal,
      a.host,
      a.pid,
      a.error ?? '',
    ]),
  );
  return `${head}\n\n${attempts}`;
}

function allocated(job: JobWithAttempts): string | null {
  const last = job.executions.findLast((attempt) => attempt.allocation);
  if (!last?.allocation) return null;
  const held = last.endedAt === null ? '' : ` (attempt ${last.attempt}, released)`;
  return `${describeAllocation(last.allocation)}${held}`;
}

export function register(program: Command): void {
  program
    .command('status')
    .description('show one job in full, with its attempts')
    .argument('<id>', 'job id')
    .action(
      action(async (id: string, _flags: unknown, command: Command) => {
        const jobId = parseJobId(id);
        return withDocket(command, async (docket, options) => {
          const job = await docket.get(jobId);
          emit(options, jobWithAttemptsJson(job), () => describe(job));
          return 0;
        });
      }),
    );
}

/** 1073741824 → 1G, 536870912 → 512M; exact multiples only, else bytes. */
function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['T', 2 ** 40],
    ['G', 2 ** 30],
    ['M', 2 ** 20],
    ['K', 2 ** 10],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}
