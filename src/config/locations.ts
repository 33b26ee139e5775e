/**
 * Checks on the places docket is told to keep its data, made before anything is created there: a
 * home that cannot be a folder, or a database path that cannot be a docket database, is refused in
 * one line naming where it came from (`--home`, `DOCKET_DB`, …), and nothing is made on the way.
 */
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { InvalidInputError } from '../core/errors.js';
import type { DocketConfig } from './config.js';

/** Kernel file systems: folders cannot be made there (and Node's recursive mkdir loops on /proc). */
const PSEUDO_FILE_SYSTEMS = ['/proc', '/sys', '/dev'];

/** What the user typed to set a setting, from the config's sources: `--home`, `DOCKET_HOME`, … */
export function settingName(config: Pick<DocketConfig, 'sources'>, name: 'home' | 'db'): string {
  const source = config.sources[name] ?? 'default';
  if (source.startsWith('flag ')) return source.slice('flag '.length);
  if (source.startsWith('env ')) return source.slice('env '.length);
  if (source === 'config.json') return `"${name}" in config.json`;
  return name === 'home' ? 'DOCKET_HOME' : '--db';
}

/** Refuses a home that cannot be (or become) a writable folder. */
export function checkHome(config: Pick<DocketConfig, 'home' | 'sources'>): void {
  const field = settingName(config, 'home');
  const home = config.home;
  if (PSEUDO_FILE_SYSTEMS.some((root) => home === root || home.startsWith(`${root}/`))) {
    throw new InvalidInputError(field, `${home} is on a kernel file system; choose a folder such as ~/.docket`);
  }
  checkFolderPath(home, field, 'home');
}

/**
 * Refuses a SQLite path that is a folder, a file that is not a SQLite database, or — when the path
 * was given explicitly — one whose folder does not exist (a typo there would otherwise create a
 * new, empty database, and the user would think the jobs vanished).
 */
export function checkSqlitePath(config: Pick<DocketConfig, 'db' | 'sources'>): void {
  const field = settingName(config, 'db');
  const path = config.db;
  const explicit = (config.sources.db ?? 'default') !== 'default';
  if (PSEUDO_FILE_SYSTEMS.some((root) => path.startsWith(`${root}/`))) {
    throw new InvalidInputError(field, `${path} is on a kernel file system; use a file in a normal folder`);
  }
  const stats = statOrNull(path);
  if (stats?.isDirectory()) throw new InvalidInputError(field, `${path} is a folder; give the database file's path`);
  if (stats) {
    if (!isSqliteFile(path)) {
      throw new InvalidInputError(
        field,
        `${path} is not a SQLite database; give a docket database or a new file's path`,
      );
    }
    return;
  }
  const folder = dirname(path);
  if (explicit && !statOrNull(folder)) {
    throw new InvalidInputError(field, `the folder ${folder} does not exist; create it, or fix the path`);
  }
  checkFolderPath(folder, field, 'database');
}

/** The nearest existing ancestor must be a folder we may write in. */
function checkFolderPath(path: string, field: string, what: string): void {
  for (let dir = path; ; dir = dirname(dir)) {
    const stats = statOrNull(dir);
    if (stats) {
      if (!stats.isDirectory()) {
        throw new InvalidInputError(
          field,
          `${dir} is a file, so ${path} cannot be a ${what} folder; choose another path`,
        );
      }
      try {
        accessSync(dir, constants.W_OK | constants.X_OK);
      } catch {
        throw new InvalidInputError(field, `${dir} is not writable for you; choose another path`);
      }
      return;
    }
    if (dirname(dir) === dir) return;
  }
}

function statOrNull(path: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** An empty file (SQLite makes one a database) or one that starts with SQLite's header. */
function isSqliteFile(path: string): boolean {
  const header = Buffer.alloc(16);
  let read = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      read = readSync(fd, header, 0, 16, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
  return read === 0 || header.toString('latin1') === 'SQLite format 3\u0000';
}
