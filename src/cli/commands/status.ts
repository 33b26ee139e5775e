/** `docket status ID`: one job in full, with every attempt. */
import type { Command } from 'commander';
import { formatDuration, parseJobId } from '../../core/units.js';
import type { JobWithAttempts } from '../../core/words.js';
import { describeAllocation } from '../../resources/reasons.js';
import { action, emit, withDocket } from '../context.js';
import { elapsed, jobWithAttemptsJson, shortTime, statusLabel, table, truncate } from '../format.js';
import { reasonsFor } from '../jobs-table.js';
import { tailFile } from '../log-files.js';

function describe(job: JobWithAttempts, reason: string | null): string {
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
    ['run at', shortTime(job.runAt)],
    ['time limit', job.timeLimitSeconds === null ? null : formatDuration(job.timeLimitSeconds)],
    ['resources', resources.length ? resources.join(' ') : null],
    // Local resources: what the latest attempt holds (or held), and why a pending job waits.
    ['allocated', allocated(job)],
    // Why it waits, was skipped, or ended as it did (the API's state_reason); errors have their own line.
    ['reason', reason === job.error ? null : reason],
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

/** How many lines of each log a failed job's status shows. */
const LOG_LINES = 10;

/**
 * Why a job that did not complete ended so: the attempt that ended it, the handler's stack trace,
 * and the last lines of its stderr and stdout. Empty for other jobs.
 */
function whyItEnded(job: JobWithAttempts, paths: { stdout: string; stderr: string }): string {
  if (!['failed', 'timeout', 'cancelled'].includes(job.status)) return '';
  const last = job.executions.at(-1);
  const parts: string[] = [];
  if (last) {
    const how =
      last.exitCode !== null ? `exit code ${last.exitCode}` : last.signal ? `signal ${last.signal}` : job.status;
    parts.push(
      `attempt ${last.attempt} of ${job.maxAttempts} ended ${job.status} (${how}) at ${shortTime(last.endedAt)}`,
    );
  }
  if (job.errorStack) parts.push(`stack trace:\n${indent(job.errorStack)}`);
  for (const stream of ['stderr', 'stdout'] as const) {
    const lines = tailFile(paths[stream], LOG_LINES).trimEnd();
    if (lines)
      parts.push(
        `last lines of ${stream} (docket logs ${job.id}${stream === 'stderr' ? ' --stderr' : ''}):\n${indent(lines)}`,
      );
  }
  return parts.join('\n\n');
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');

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
          const reason = (await reasonsFor(docket, [job])).get(job.id) ?? null;
          emit(options, { ...jobWithAttemptsJson(job), state_reason: reason }, () =>
            [describe(job, reason), whyItEnded(job, docket.logPaths(job.id))].filter(Boolean).join('\n\n'),
          );
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
