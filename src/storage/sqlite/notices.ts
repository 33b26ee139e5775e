/**
 * How a process notices what other processes changed in the file. SQLite sends nothing (no
 * LISTEN/NOTIFY: the engine has no `pushesChanges`); a process looks instead, cheaply:
 * `PRAGMA data_version` moves when another connection commits, and the job event log's newest id
 * moves with every change of a job.
 */
import type Database from 'better-sqlite3';
import { pollNewestEvent } from '../event-poll.js';

/** How often a server streaming events looks for new ones: one indexed lookup, well under the 15 s heartbeat. */
const EVENT_POLL_MS = 150;

/** Moves when another connection commits to the file (not on this connection's own writes). */
export function dataVersion(sql: (text: string) => Database.Statement): number {
  return sql('PRAGMA data_version').pluck().get() as number;
}

/** Calls `onEvents` whenever the event log gained events, whoever wrote them. */
export function watchEventLog(lastEventId: () => number, onEvents: () => void): () => Promise<void> {
  const stop = pollNewestEvent(lastEventId, lastEventId(), EVENT_POLL_MS, onEvents);
  return async () => stop();
}
