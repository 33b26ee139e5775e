/**
 * LISTEN/NOTIFY: how writes tell workers on every machine about new work (`w:QUEUE`) and about a
 * job they run that changed (`c:WORKER`), and API servers about a revoked token (`t:`). The engine sends notices inside its own transactions;
 * this is the listening side.
 */
import type { Client } from 'pg';
import type { StoreNotice } from '../engine.js';
import { channelOf } from './connection.js';

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
