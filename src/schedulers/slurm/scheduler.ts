/**
 * The SLURM scheduler: hands jobs to SLURM with sbatch, and — with no daemon — brings their records
 * up to date whenever docket shows or waits for jobs: one squeue call for every tracked job, one
 * sacct call for those squeue no longer lists. Every state change goes through the storage port,
 * which applies it through the state machine.
 */
import { mkdir } from 'node:fs/promises';
import type { SlurmSettings } from '../../config/config.js';
import { EXIT, InvalidInputError } from '../../core/errors.js';
import type { Job } from '../../core/words.js';
import { jobLogDir } from '../../paths.js';
import type { ObservedState, StorageEngine } from '../../storage/engine.js';
import {
  type CommandResult,
  firstLine,
  isUnreachable,
  SlurmCommands,
  SlurmRefusedError,
  SlurmUnavailableError,
} from './commands.js';
import { batchScript, sbatchArgs } from './script.js';
import { isFinal, mapState, parseExitCode, parseSacct, parseSqueue, SACCT_FIELDS, SQUEUE_FORMAT } from './states.js';

/** A job SLURM no longer lists and keeps no accounting record of is failed after this long. */
export const FORGOTTEN_AFTER_MS = 60_000;

type Plan = { hold: true } | { hold: false; afterOk: string[] };

export class SlurmScheduler {
  readonly commands: SlurmCommands;

  constructor(
    private readonly engine: StorageEngine,
    settings: SlurmSettings,
    private readonly logsDir: string,
    private readonly warn: (message: string) => void,
  ) {
    this.commands = new SlurmCommands(settings);
  }

  // ── submit ───────────────────────────────────────────────────────────────────────────────────

  /**
   * Hands just-stored jobs to SLURM: sbatch for those whose dependencies allow it (SLURM
   * dependencies become afterok), a check with `sbatch --test-only` for those docket holds until a
   * local dependency completes. All or nothing: if SLURM refuses one, the accepted ones are
   * cancelled and the error thrown (the caller takes the batch back). Returns the current records.
   */
  async handOver(jobs: Job[], now = Date.now()): Promise<Map<number, Job>> {
    const records = new Map<number, Job>();
    const accepted: string[] = [];
    try {
      for (const job of jobs) {
        const plan = await this.plan(job);
        if (plan.hold || job.runAt > now) {
          await this.check(job, plan.hold ? [] : plan.afterOk);
          records.set(job.id, job);
          continue;
        }
        const slurmId = await this.sbatch(job, plan.afterOk);
        accepted.push(slurmId);
        records.set(job.id, (await this.record(job, slurmId)) ?? job);
      }
    } catch (error) {
      if (accepted.length > 0) await this.cancelCopies(accepted, 'the rest of their batch was refused');
      throw error;
    }
    return records;
  }

  /** Submit now (with afterok on SLURM dependencies still under way), or hold for a local one. */
  private async plan(job: Job): Promise<Plan> {
    const afterOk: string[] = [];
    for (const id of job.dependsOn) {
      const parent = await this.engine.get(id);
      if (!parent || parent.status === 'completed') continue;
      const active = parent.status === 'pending' || parent.status === 'running' || parent.status === 'suspended';
      if (parent.scheduler === 'slurm' && parent.schedulerJobId !== null && active) afterOk.push(parent.schedulerJobId);
      else return { hold: true };
    }
    return { hold: false, afterOk };
  }

  private async sbatch(job: Job, afterOk: string[]): Promise<string> {
    const logDir = jobLogDir(this.logsDir, job.id);
    await mkdir(logDir, { recursive: true });
    const result = await this.commands.run('sbatch', sbatchArgs(job, { logDir, afterOk }), batchScript(job));
    const slurmId = result.stdout.trim().split(';')[0] ?? '';
    if (result.code !== 0 || !/^\d+$/.test(slurmId)) throw refusal('sbatch', job, result);
    return slurmId;
  }

  /** Asks SLURM whether it would accept the job (and that it answers), without submitting it. */
  private async check(job: Job, afterOk: string[]): Promise<void> {
    const logDir = jobLogDir(this.logsDir, job.id);
    const args = ['--test-only', ...sbatchArgs(job, { logDir, afterOk }).filter((arg) => arg !== '--parsable')];
    const result = await this.commands.run('sbatch', args, batchScript(job));
    if (result.code !== 0) throw refusal('sbatch --test-only', job, result);
  }

  /**
   * Records SLURM's id for the job. If another process handed the job over first, this copy is
   * cancelled and the record (with the other copy's id) returned.
   */
  private async record(job: Job, slurmId: string): Promise<Job | null> {
    const recorded = await this.engine.recordSubmitted(job.id, slurmId);
    if (recorded) return recorded;
    await this.cancelCopies([slurmId], `job ${job.id} was handed to SLURM by another process first`);
    return this.engine.get(job.id);
  }

  /**
   * scancel for SLURM jobs docket does not keep. If that fails, the copies would run unrecorded:
   * said loudly (with their ids, to cancel by hand), never swallowed.
   */
  private async cancelCopies(slurmIds: string[], why: string): Promise<void> {
    let problem: string | null = null;
    try {
      const result = await this.commands.run('scancel', slurmIds);
      if (result.code !== 0) problem = firstLine(result.stderr) || `exit ${result.code}`;
    } catch (error) {
      problem = (error as Error).message;
    }
    if (problem !== null) {
      this.warn(
        `could not cancel SLURM job(s) ${slurmIds.join(', ')} (${why}): ${problem}; cancel them with scancel ${slurmIds.join(' ')}`,
      );
    }
  }

  // ── status ───────────────────────────────────────────────────────────────────────────────────

  /**
   * Brings every tracked SLURM job up to date: hands over held jobs whose dependencies now allow
   * it, then asks squeue (and sacct for jobs squeue no longer lists). Never throws for SLURM
   * being unreachable: the records stay as they were, with a warning.
   */
  async sync(now = Date.now()): Promise<void> {
    const tracked = await this.engine.listTracked('slurm');
    if (tracked.length === 0) return;
    try {
      await this.releaseHeld(tracked, now);
      const submitted = tracked.filter((job) => job.schedulerJobId !== null);
      if (submitted.length > 0) await this.engine.applyObserved(await this.observe(submitted, now));
    } catch (error) {
      if (!(error instanceof SlurmUnavailableError)) throw error;
      this.warn(`SLURM jobs not brought up to date: ${error.message}`);
    }
  }

  private async releaseHeld(tracked: Job[], now: number): Promise<void> {
    for (const job of tracked) {
      if (job.schedulerJobId !== null || job.status !== 'pending' || job.runAt > now) continue;
      if (beingHandedOver(job, now)) continue;
      const plan = await this.plan(job);
      if (plan.hold) continue;
      try {
        const slurmId = await this.sbatch(job, plan.afterOk);
        const recorded = await this.record(job, slurmId);
        // The current record, so that the look at SLURM that follows is based on it.
        if (recorded) Object.assign(job, recorded);
      } catch (error) {
        if (error instanceof SlurmUnavailableError) throw error;
        // SLURM refused a job it accepted at submit time (e.g. its partition is gone since).
        this.warn(`job ${job.id} stays held: ${(error as Error).message}`);
      }
    }
  }

  /** What SLURM says about submitted jobs: one squeue call, and one sacct call if needed. */
  async observe(jobs: Job[], now = Date.now()): Promise<ObservedState[]> {
    const ids = jobs.map((job) => job.schedulerJobId as string);
    const queue = await this.commands.run('squeue', ['-h', '-o', SQUEUE_FORMAT, `--jobs=${ids.join(',')}`]);
    // squeue exits 1 with "Invalid job id" when it knows none of them any more.
    if (queue.code !== 0 && !/invalid job id/i.test(queue.stderr)) throw unavailable('squeue', queue);
    const listed = parseSqueue(queue.code === 0 ? queue.stdout : '');
    const observed: ObservedState[] = [];
    const gone: Job[] = [];
    for (const job of jobs) {
      const line = listed.get(job.schedulerJobId as string);
      const mapped = line && mapState(line.state);
      if (!line || !mapped || isFinal(mapped)) {
        gone.push(job);
        continue;
      }
      observed.push({
        jobId: job.id,
        schedulerJobId: line.id,
        seen: seen(job),
        status: mapped.status,
        startedAt: mapped.status === 'pending' ? null : line.startedAt,
        host: mapped.status === 'pending' ? null : line.nodes,
        reason: mapped.status === 'pending' ? line.reason : null,
      });
    }
    if (gone.length > 0) observed.push(...(await this.account(gone, now)));
    return observed;
  }

  /** The ends of jobs squeue no longer lists, from accounting; a lagging record is asked again later. */
  private async account(jobs: Job[], now: number): Promise<ObservedState[]> {
    const ids = jobs.map((job) => job.schedulerJobId as string);
    const result = await this.commands.run('sacct', ['-n', '-X', '-P', '-o', SACCT_FIELDS, '-j', ids.join(',')]);
    if (result.code !== 0) throw unavailable('sacct', result);
    const records = parseSacct(result.stdout);
    const observed: ObservedState[] = [];
    for (const job of jobs) {
      const slurmId = job.schedulerJobId as string;
      const record = records.get(slurmId);
      if (!record) {
        if (now - job.updatedAt < FORGOTTEN_AFTER_MS) continue;
        observed.push({
          jobId: job.id,
          schedulerJobId: slurmId,
          seen: seen(job),
          status: 'failed',
          endedAt: now,
          error: `SLURM no longer knows job ${slurmId} and has no accounting record of it`,
        });
        continue;
      }
      const mapped = mapState(record.state);
      if (!mapped || !isFinal(mapped)) continue; // sacct lags the job's end: ask again
      const { exitCode, signal } = parseExitCode(record.exitCode);
      observed.push({
        jobId: job.id,
        schedulerJobId: slurmId,
        seen: seen(job),
        status: mapped.status,
        startedAt: record.startedAt,
        endedAt: record.endedAt ?? now,
        exitCode: mapped.status === 'cancelled' && exitCode === 0 ? null : exitCode,
        signal,
        error: mapped.error ?? endError(mapped.status, exitCode, signal, job),
        host: record.nodes,
      });
    }
    return observed;
  }

  // ── control ──────────────────────────────────────────────────────────────────────────────────

  /** scancel; a job SLURM already finished is left for the next sync to record. */
  async cancel(job: Job): Promise<void> {
    if (job.schedulerJobId === null) return;
    const result = await this.commands.run('scancel', [job.schedulerJobId]);
    if (result.code !== 0) throw unavailableOr('scancel', job, result);
  }

  /** A running job is suspended (`scontrol suspend`); one SLURM still queues is held (`scontrol hold`). */
  async suspend(job: Job): Promise<void> {
    if (job.schedulerJobId === null) return;
    const verb = job.status === 'running' ? 'suspend' : 'hold';
    const result = await this.commands.run('scontrol', [verb, job.schedulerJobId]);
    if (result.code !== 0) throw unavailableOr(`scontrol ${verb}`, job, result);
  }

  /** The reverse of suspend: `scontrol resume` for a job that had started, `scontrol release` otherwise. */
  async resume(job: Job): Promise<void> {
    if (job.schedulerJobId === null) return;
    const verb = job.workerId !== null ? 'resume' : 'release';
    const result = await this.commands.run('scontrol', [verb, job.schedulerJobId]);
    if (result.code !== 0) throw unavailableOr(`scontrol ${verb}`, job, result);
  }
}

/** The record a report is based on (read before SLURM was asked; see ObservedState.seen). */
function seen(job: Job): ObservedState['seen'] {
  return { status: job.status, updatedAt: job.updatedAt };
}

function endError(status: string, exitCode: number | null, signal: string | null, job: Job): string | null {
  if (status === 'timeout')
    return `time limit${job.timeLimitSeconds ? ` of ${job.timeLimitSeconds}s` : ''} exceeded (SLURM)`;
  if (status !== 'failed') return null;
  if (signal) return `killed by signal ${signal}`;
  return `exited with code ${exitCode}`;
}

function unavailable(command: string, result: CommandResult): SlurmUnavailableError {
  return new SlurmUnavailableError(
    `SLURM does not answer: ${command}: ${firstLine(result.stderr) || `exit ${result.code}`}`,
  );
}

/** sbatch's refusal of a job: bad input (exit 2), or SLURM not answering (also exit 2). */
function refusal(command: string, job: Job, result: CommandResult): Error {
  const message = firstLine(result.stderr) || firstLine(result.stdout) || `exit ${result.code}`;
  if (isUnreachable(message)) return new SlurmUnavailableError(`SLURM does not answer: ${command}: ${message}`);
  return new InvalidInputError('--scheduler slurm', `sbatch refused job "${job.name}": ${message}; nothing was stored`);
}

/** scancel or scontrol refusing: the cluster's own words, exit 4 (or 2 when it does not answer). */
function unavailableOr(command: string, job: Job, result: CommandResult): Error {
  const message = firstLine(result.stderr) || `exit ${result.code}`;
  if (isUnreachable(message)) return new SlurmUnavailableError(`SLURM does not answer: ${command}: ${message}`);
  return new SlurmRefusedError(
    `SLURM refused to ${command.split(' ').pop()} job ${job.id} (SLURM job ${job.schedulerJobId}): ${message}`,
    EXIT.invalidState,
  );
}

/** How long the process that submitted a job has to hand it to SLURM before others may. */
const HANDOVER_GRACE_MS = 30_000;

/**
 * A job its submitter is handing to SLURM right now: never held (no dependencies, no delay, no
 * retry) and stored moments ago. Other processes leave it alone, so it is not submitted twice; if
 * its submitter died before sbatch, the next sync after the grace submits it.
 */
function beingHandedOver(job: Job, now: number): boolean {
  return (
    job.dependsOn.length === 0 &&
    job.attempts === 0 &&
    job.runAt <= job.createdAt &&
    now - job.createdAt < HANDOVER_GRACE_MS
  );
}
