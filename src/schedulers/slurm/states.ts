/**
 * SLURM's words onto docket's: job states (squeue's %T, sacct's State), exit codes (`3:0`), times,
 * and the machine-readable lines of squeue and sacct.
 */
import { constants } from 'node:os';
import type { JobStatus } from '../../core/words.js';

export interface MappedState {
  status: JobStatus;
  /** Why, for ends that are not the command's own doing (out of memory, node failure…). */
  error?: string;
}

/**
 * SLURM's states (first word of State: `CANCELLED by 0` is CANCELLED), as docket's. States not
 * listed mean "still going" when active and are asked about again; see the README's table.
 */
const STATES: Record<string, MappedState> = {
  PENDING: { status: 'pending' },
  REQUEUED: { status: 'pending' },
  REQUEUE_HOLD: { status: 'pending' },
  REQUEUE_FED: { status: 'pending' },
  RESV_DEL_HOLD: { status: 'pending' },
  CONFIGURING: { status: 'running' },
  RUNNING: { status: 'running' },
  COMPLETING: { status: 'running' },
  RESIZING: { status: 'running' },
  SIGNALING: { status: 'running' },
  STAGE_OUT: { status: 'running' },
  SUSPENDED: { status: 'suspended' },
  STOPPED: { status: 'suspended' },
  COMPLETED: { status: 'completed' },
  FAILED: { status: 'failed' },
  TIMEOUT: { status: 'timeout' },
  DEADLINE: { status: 'timeout', error: 'SLURM: the job reached its deadline' },
  CANCELLED: { status: 'cancelled', error: 'cancelled in SLURM' },
  REVOKED: { status: 'cancelled', error: 'SLURM: revoked (it runs on another cluster of the federation)' },
  OUT_OF_MEMORY: { status: 'failed', error: 'SLURM: out of memory' },
  NODE_FAIL: { status: 'failed', error: 'SLURM: node failure' },
  BOOT_FAIL: { status: 'failed', error: 'SLURM: node boot failure' },
  PREEMPTED: { status: 'failed', error: 'SLURM: preempted' },
  SPECIAL_EXIT: { status: 'failed', error: 'SLURM: special exit' },
};

const FINAL: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'timeout', 'cancelled']);

/** docket's reading of a SLURM state, or null for a state docket does not know (ask again later). */
export function mapState(state: string): MappedState | null {
  const word = state.trim().split(/\s+/)[0]?.replace(/\+$/, '').toUpperCase() ?? '';
  return STATES[word] ?? null;
}

export function isFinal(mapped: MappedState | null): boolean {
  return mapped !== null && FINAL.has(mapped.status);
}

/** `3:0` → exit code 3; `0:15` → signal SIGTERM. */
export function parseExitCode(text: string): { exitCode: number | null; signal: string | null } {
  if (!/^\d+(:\d+)?$/.test(text.trim())) return { exitCode: null, signal: null };
  const [code, sig] = text.trim().split(':').map(Number);
  const signal = sig ? (Object.entries(constants.signals).find(([, n]) => n === sig)?.[0] ?? `signal ${sig}`) : null;
  return { exitCode: Number.isInteger(code) ? (code as number) : null, signal };
}

/** SLURM times as printed with SLURM_TIME_FORMAT=%s (seconds) or as local ISO text; null if unset. */
export function parseTime(text: string): number | null {
  const value = text.trim();
  if (/^\d+$/.test(value)) return Number(value) === 0 ? null : Number(value) * 1000;
  if (value === '' || /^(unknown|none|n\/a)$/i.test(value)) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

export interface QueueLine {
  id: string;
  state: string;
  startedAt: number | null;
  nodes: string | null;
  /** Why a pending job waits (`Resources`, `Priority`, `Dependency`…); null for `None`. */
  reason: string | null;
}

/** The format docket asks squeue for (the reason last: its text may hold any character), and its parser. */
export const SQUEUE_FORMAT = '%i|%T|%S|%N|%r';

export function parseSqueue(stdout: string): Map<string, QueueLine> {
  const lines = new Map<string, QueueLine>();
  for (const line of stdout.split('\n')) {
    const [id, state, start, nodes, ...reasonParts] = line.trim().split('|');
    if (!id || !state) continue;
    const reason = reasonParts.join('|').trim();
    lines.set(id, {
      id,
      state,
      startedAt: parseTime(start ?? ''),
      nodes: nodes?.trim() || null,
      reason: reason === '' || /^none$/i.test(reason) ? null : reason,
    });
  }
  return lines;
}

export interface AccountingLine {
  id: string;
  state: string;
  exitCode: string;
  startedAt: number | null;
  endedAt: number | null;
  nodes: string | null;
}

export const SACCT_FIELDS = 'JobID,State,ExitCode,Start,End,NodeList';

/** sacct -X -P lines (allocations only); the last line of an id wins (a requeued job's newest run). */
export function parseSacct(stdout: string): Map<string, AccountingLine> {
  const lines = new Map<string, AccountingLine>();
  for (const line of stdout.split('\n')) {
    const [id, state, exitCode, start, end, nodes] = line.trim().split('|');
    if (!id || !state || !/^\d+$/.test(id)) continue;
    lines.set(id, {
      id,
      state,
      exitCode: exitCode ?? '',
      startedAt: parseTime(start ?? ''),
      endedAt: parseTime(end ?? ''),
      // "None assigned" for a job that never started.
      nodes: nodes && !/^none/i.test(nodes.trim()) ? nodes.trim() : null,
    });
  }
  return lines;
}
