/**
 * Which machine this process runs on, for "is that process alive here?" decisions. A hostname is
 * not enough: containers often share one while each has its own pid namespace, where a pid means a
 * different process. The kernel's boot id plus the pid namespace's inode differ between them.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

let cached: string | undefined;

/** `BOOT_ID/pid:[INODE]`, or `host:NAME` where /proc does not say (not Linux). */
export function thisMachine(): string {
  cached ??= readMachine();
  return cached;
}

function readMachine(): string {
  try {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const pidNamespace = readlinkSync('/proc/self/ns/pid');
    return `${bootId}/${pidNamespace}`;
  } catch {
    return `host:${hostname()}`;
  }
}

/**
 * True when a record written by a process (a worker, an attempt) comes from this machine: same
 * machine identity or, for records written before machines were recorded, the same hostname.
 */
export function onThisMachine(record: { machine?: string | null; host: string | null }): boolean {
  if (record.machine) return record.machine === thisMachine();
  return record.host === hostname();
}
