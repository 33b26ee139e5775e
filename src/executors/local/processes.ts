/**
 * Whole-tree control of a job's processes on this machine.
 *
 * A process is identified by its pid *and* its start time (core/processes.ts). A job's processes
 * are its process group plus every process carrying the job's tag in its environment — which also
 * finds descendants that left the group with setsid and were re-parented.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isSameProcessAlive, processStartTime } from '../../core/processes.js';
import type { AttemptProcesses, ProcessControl } from '../executor.js';

/** The environment variable that marks every process of a job attempt. */
export const TAG_VARIABLE = 'DOCKET_JOB_TAG';

/** Pids of live processes whose environment carries `TAG_VARIABLE=tag`. */
export function findTagged(tag: string): number[] {
  const needle = Buffer.from(`\0${TAG_VARIABLE}=${tag}\0`);
  const needleAtStart = needle.subarray(1);
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${entry}/environ`);
    } catch {
      continue; // gone, or not ours to read
    }
    if (environ.includes(needle) || environ.subarray(0, needleAtStart.length).equals(needleAtStart)) {
      if (processStartTime(Number(entry)) !== null) found.push(Number(entry));
    }
  }
  return found;
}

function kill(target: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch {
    return false;
  }
}

/** What identifies one attempt's processes. */
export interface ProcessTree {
  /** The leader's pid, which is also the process group id. */
  pid: number;
  /** The leader's start time, so a reused pid is never signalled. */
  pidStart: number | null;
  tag: string;
}

/**
 * True while the tree's process group still exists. Linux never hands out a pid that is still in
 * use as a group id, so a live group whose number is our leader's pid is ours — unless a process
 * with that pid exists and started at another time (our group died and the pid was reused).
 */
function groupIsOurs(tree: ProcessTree): boolean {
  const leaderStart = processStartTime(tree.pid);
  if (leaderStart !== null && tree.pidStart !== null && leaderStart !== tree.pidStart) return false;
  return kill(-tree.pid, 0);
}

/** Sends a signal to the whole tree: its process group and tagged strays that left it. */
export function signalTree(tree: ProcessTree, signal: NodeJS.Signals): void {
  if (groupIsOurs(tree)) kill(-tree.pid, signal);
  for (const pid of findTagged(tree.tag)) kill(pid, signal);
}

/** True while any process of the tree is alive (zombies waiting to be reaped do not count). */
export function treeAlive(tree: ProcessTree): boolean {
  return isSameProcessAlive(tree.pid, tree.pidStart) || findTagged(tree.tag).length > 0;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stops the whole tree: SIGTERM (and SIGCONT, so a stopped tree can act on it), then SIGKILL to
 * whatever is left after the grace period. Resolves once nothing of the tree is alive.
 */
export async function stopTree(tree: ProcessTree, graceMs: number): Promise<void> {
  signalTree(tree, 'SIGTERM');
  signalTree(tree, 'SIGCONT');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!treeAlive(tree)) return;
    await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
  }
  for (let round = 0; round < 20 && treeAlive(tree); round++) {
    signalTree(tree, 'SIGKILL');
    await sleep(25);
  }
}

/**
 * Stops every process carrying `tag`, for an attempt whose pid was never recorded (its worker died
 * between spawning and recording): SIGTERM, then SIGKILL after the grace period.
 */
export async function stopTagged(tag: string, graceMs: number): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    for (const pid of findTagged(tag)) kill(pid, name);
  };
  signal('SIGTERM');
  signal('SIGCONT');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && findTagged(tag).length > 0) {
    await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
  }
  for (let round = 0; round < 20 && findTagged(tag).length > 0; round++) {
    signal('SIGKILL');
    await sleep(25);
  }
}

/** The tag of one attempt: unique per job, execution and worker. */
export function attemptTag(jobId: number, runNo: number, workerId: string | null): string {
  return `${jobId}.${runNo}.${workerId ?? 'none'}`;
}

/**
 * The local executor's control of attempts' processes on this machine, for the facade (cancel,
 * suspend, resume) and reconciliation (the strays of a dead worker), which see only the port.
 */
export const localProcesses: ProcessControl = {
  async stop(attempt: AttemptProcesses, graceMs: number): Promise<void> {
    const tag = attemptTag(attempt.id, attempt.runNo, attempt.workerId);
    if (attempt.pid === null) await stopTagged(tag, graceMs);
    else await stopTree({ pid: attempt.pid, pidStart: attempt.pidStart, tag }, graceMs);
  },
  signal(attempt: AttemptProcesses, signal: 'SIGSTOP' | 'SIGCONT'): void {
    if (attempt.pid === null) return;
    signalTree(
      { pid: attempt.pid, pidStart: attempt.pidStart, tag: attemptTag(attempt.id, attempt.runNo, attempt.workerId) },
      signal,
    );
  },
};
