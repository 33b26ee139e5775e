/**
 * LISTEN/NOTIFY: how writes tell workers on every machine about new work (`w:QUEUE`) and about a
 * job they run that changed (`c:WORKER`), API servers about a revoked token (`t:`), and servers
 * streaming job events about new ones. The engine sends notices inside its own transactions;
 * this is the listening side.
 */
import type { Client } from 'pg';
import type { StoreNotice } from '../engine.js';
import { pollNewestEvent } from '../event-poll.js';
import { channelOf } from './connection.js';

/** A safety net under NOTIFY: look for missed events this often (a dropped listening connection). */
const EVENT_POLL_MS = 2_000;

/**
 * LISTENs on a connection of its own, outside the pool (`open` tracks it, so closing the engine
 * ends it). If that connection drops, one reconnect loop (never two, however many errors arrive)
 * brings it back and reports a `work` notice for every queue (`*`), since notices sent meanwhile
 * were missed. Resolves to a function that stops listening.
 */
export async function listenForNotices(
  connectionString: string,
  schema: string,
  open: Set<Client>,
  onNotice: (notice: StoreNotice) => void,
  warn: (message: string) => void,
): Promise<() => Promise<void>> {
  const pg = (await import('pg')).default;
  let stopped = false;
  let reconnecting = false;
  let client: Client | undefined;
  const close = async (which: Client) => {
    open.delete(which);
    await which.end().catch(() => {});
  };
  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString, application_name: `docket-listen:${schema}` });
    next.on('notification', (message) => {
      const notice = parseNotice(message.payload ?? '');
      if (notice) onNotice(notice);
    });
    // Only the current connection's end matters: a connection already given up on may still report.
    const lost = (error?: Error) => {
      if (next !== client || stopped) return;
      onNotice({ kind: 'tokens', listening: false });
      warn(`lost the LISTEN connection to PostgreSQL${error ? ` (${error.message})` : ''}; reconnecting`);
      void reconnect();
    };
    next.on('error', lost);
    next.on('end', () => lost());
    open.add(next);
    try {
      await next.connect();
      await next.query(`LISTEN "${channelOf(schema)}"`);
    } catch (error) {
      await close(next);
      throw error;
    }
    if (stopped) await close(next);
    else client = next;
  };
  const reconnect = async (): Promise<void> => {
    if (reconnecting) return;
    reconnecting = true;
    const broken = client;
    client = undefined;
    try {
      if (broken) await close(broken);
      for (let delay = 100; !stopped; delay = Math.min(delay * 2, 5_000)) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (stopped) return;
        try {
          await connect();
          onNotice({ kind: 'tokens', listening: true });
          onNotice({ kind: 'work', queue: '*' });
          return;
        } catch {
          // the database is still away: try again later
        }
      }
    } finally {
      reconnecting = false;
    }
  };
  await connect();
  return async () => {
    stopped = true;
    if (client) await close(client);
  };
}

function parseNotice(payload: string): StoreNotice | null {
  if (payload.startsWith('w:')) return { kind: 'work', queue: payload.slice(2) };
  if (payload.startsWith('c:')) return { kind: 'control', workerId: payload.slice(2) };
  if (payload === 't:') return { kind: 'tokens', listening: true };
  return null;
}

/**
 * Calls `onEvents` when the job event log gained events. LISTENs on `docket_<schema>_events` on a
 * connection of its own, and writes that connection's backend pid into `event_listeners`: the
 * triggers NOTIFY once per writing statement while a row is there (migration 12). A slow poll of
 * the newest id covers a dropped connection (it reconnects there), and events committed before
 * the row was.
 */
export async function watchEventLog(
  connectionString: string,
  schema: string,
  lastEventId: () => Promise<number>,
  onEvents: () => void,
): Promise<() => Promise<void>> {
  const pg = (await import('pg')).default;
  const listeners = `"${schema}".event_listeners`;
  let client: Client | null = null;
  const from = await lastEventId();
  const connect = async () => {
    const next = new pg.Client({ connectionString, application_name: 'docket-events' });
    next.on('notification', () => onEvents());
    next.on('error', () => {
      client = null;
      next.end().catch(() => {});
    });
    await next.connect();
    await next.query(`LISTEN "docket_${schema}_events"`);
    // Rows of listeners whose connection is gone (a server that died) stop counting now.
    await next.query(
      `DELETE FROM ${listeners} AS l WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity AS a WHERE a.pid = l.backend_pid)`,
    );
    await next.query(
      `INSERT INTO ${listeners} (backend_pid, since) VALUES (pg_backend_pid(), $1)
       ON CONFLICT (backend_pid) DO UPDATE SET since = excluded.since`,
      [Date.now()],
    );
    client = next;
  };
  await connect();
  const stopPolling = pollNewestEvent(lastEventId, from, EVENT_POLL_MS, onEvents, async () => {
    if (client === null) await connect();
  });
  return async () => {
    stopPolling();
    await client?.query(`DELETE FROM ${listeners} WHERE backend_pid = pg_backend_pid()`).catch(() => {});
    await client?.end().catch(() => {});
  };
}
