/**
 * Process identity on this machine. A pid alone is reused by the kernel, so a process (a worker,
 * a job's leader) is identified by its pid *and* its start time: field 22 of /proc/<pid>/stat, in
 * clock ticks since boot.
 */
import { readFileSync } from 'node:fs';

/** A process's start time in clock ticks since boot, or null if it does not exist (or is a zombie). */
export function processStartTime(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return null;
  const start = Number(fields[19]); // field 22 overall; fields[0] is field 3
  return Number.isFinite(start) ? start : null;
}

/** True when the process with this pid is the same one that had `startTime` (when known). */
export function isSameProcessAlive(pid: number, startTime: number | null): boolean {
  const current = processStartTime(pid);
  if (current === null) return false;
  return startTime === null || current === startTime;
}
