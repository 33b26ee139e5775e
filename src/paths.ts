/**
 * Where docket's own files are. The code runs from src/ (tests), from dist/ (the library) and from
 * the single-file CLI bundle dist/cli.js, so a file is found by walking up from the running module.
 */
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The first `relative` path that exists below `from` or one of its ancestors. */
export function findUp(from: string, relative: string): string {
  for (let dir = dirname(fileURLToPath(from)); ; dir = dirname(dir)) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`cannot find ${relative} above ${fileURLToPath(from)}`);
  }
}

/**
 * The folder of one store's job logs under the home's logs folder, named by the store's identity:
 * two databases (or PostgreSQL schemas) sharing a home never see, clear or reset each other's logs.
 */
export function storeLogsDir(logsRoot: string, storeId: string): string {
  return join(logsRoot, storeId);
}

/** A job's log folder: `stdout` and `stderr` of every attempt, appended. */
export function jobLogDir(logsDir: string, id: number): string {
  return join(logsDir, String(id));
}

/** Deletes the log folders of jobs that were cleared. */
export function removeJobLogs(logsDir: string, ids: readonly number[]): void {
  for (const id of ids) rmSync(jobLogDir(logsDir, id), { recursive: true, force: true });
}

/**
 * A store's job logs: its own folder, and — for jobs that ran before logs moved into the store's
 * folder (up to `legacyMaxId`) — the home's logs folder, where such a job may still have them.
 */
export class StoreLogs {
  constructor(
    /** The store's own folder (storeLogsDir). */
    readonly dir: string,
    private readonly legacyRoot: string,
    private legacyMaxId: number,
  ) {}

  /** Paths of a job's log files. */
  paths(id: number): { stdout: string; stderr: string } {
    let dir = jobLogDir(this.dir, id);
    if (id <= this.legacyMaxId && !existsSync(dir)) {
      const legacy = jobLogDir(this.legacyRoot, id);
      if (existsSync(legacy)) dir = legacy;
    }
    return { stdout: join(dir, 'stdout'), stderr: join(dir, 'stderr') };
  }

  /** Removes every log of the store (its records were dropped): no older job is looked for either. */
  removeAll(): void {
    this.legacyMaxId = 0;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
