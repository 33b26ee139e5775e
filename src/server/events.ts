/**
 * The server's side of the job event stream: one tail of the store's event log (whatever process
 * or machine wrote the change), fanned out to every connected client whose tenant may see it.
 * A client that reconnects with Last-Event-ID first gets what it missed from the log, then live
 * events, with nothing twice. `queue.counts` snapshots follow changes, at most once a second per
 * queue (they carry no id: they are not replayed).
 */
import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import { isoTime } from '../core/iso-time.js';
import type { JobEventRecord } from '../docket-types.js';
import type { JobService, Scope } from '../job-service.js';

/** A comment line every 15 s keeps proxies and browsers from closing an idle stream. */
export const HEARTBEAT_MS = 15_000;
/** Events read from the log per query. */
const PAGE = 1000;
/** A client this far behind (bytes not yet sent) is too slow: it is closed and may reconnect. */
const MAX_BUFFERED = 8 * 1024 * 1024;
const COUNTS_EVERY_MS = 1000;

interface Client {
  scope: Scope;
  response: ServerResponse;
  /** While it catches up from Last-Event-ID, live events wait here. */
  held: JobEventRecord[] | null;
  lastSent: number;
  onClose: () => void;
}

export function eventText(event: JobEventRecord): string {
  const data = {
    id: event.id,
    job_id: event.jobId,
    tenant: event.tenant,
    queue: event.queue,
    type: event.type,
    status: event.status,
    progress: event.progress,
    at: isoTime(event.at),
  };
  return `id: ${event.id}\nevent: job.${event.kind}\ndata: ${JSON.stringify(data)}\n\n`;
}

function visible(scope: Scope, event: JobEventRecord): boolean {
  return scope.tenant === undefined || scope.tenant === event.tenant;
}

/** The events of a page that a scope may see, as one text, and the id of the last of them. */
function pageOf(scope: Scope, events: JobEventRecord[], texts: string[]): { text: string; lastId: number } {
  let text = '';
  let lastId = 0;
  events.forEach((event, index) => {
    if (!visible(scope, event)) return;
    text += texts[index];
    lastId = event.id;
  });
  return { text, lastId };
}

export class EventHub {
  private readonly clients = new Set<Client>();
  private cursor = 0;
  private started: Promise<void> | null = null;
  private stopWatching: (() => Promise<void>) | null = null;
  private pumping = false;
  private again = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private countsTimer: NodeJS.Timeout | null = null;
  private readonly changedQueues = new Set<string>();

  constructor(
    private readonly service: JobService,
    private readonly log: FastifyBaseLogger,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  /** Starts tailing the store (once, when the first client arrives). */
  private start(): Promise<void> {
    this.started ??= (async () => {
      this.cursor = await this.service.lastEventId();
      this.stopWatching = await this.service.watchEvents(() => void this.pump());
      this.heartbeat = setInterval(() => {
        for (const client of this.clients) this.write(client, ': heartbeat\n\n');
      }, HEARTBEAT_MS);
      this.heartbeat.unref();
    })();
    return this.started;
  }

  /** Streams events to `response` until it closes; replays from `lastEventId` first when given. */
  async attach(response: ServerResponse, scope: Scope, lastEventId: number | null): Promise<void> {
    await this.start();
    const client: Client = {
      scope,
      response,
      held: lastEventId === null ? null : [],
      lastSent: lastEventId ?? this.cursor,
      onClose: () => this.clients.delete(client),
    };
    response.once('close', client.onClose);
    this.clients.add(client);
    this.write(client, `retry: 2000\n: connected\n\n`);
    if (lastEventId === null) return;
    try {
      for (;;) {
        const missed = await this.service.eventsAfter(client.lastSent, PAGE, scope);
        for (const event of missed) this.send(client, event);
        if (missed.length < PAGE) break;
      }
    } finally {
      const held = client.held ?? [];
      client.held = null;
      for (const event of held) if (event.id > client.lastSent) this.send(client, event);
    }
  }

  /** Reads new events from the log and hands them out; concurrent calls coalesce into one more pass. */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        for (;;) {
          const events = await this.service.eventsAfter(this.cursor, PAGE, {});
          this.deliver(events);
          if (events.length > 0) this.cursor = (events[events.length - 1] as JobEventRecord).id;
          if (events.length < PAGE) break;
        }
      } while (this.again);
    } catch (error) {
      this.log.warn({ err: error }, 'reading job events failed; retrying at the next change');
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Hands a page of events out: each serialised once, one write per client per page. Clients
   * that are caught up (nearly all of them, nearly always) share one text per tenant scope, so a
   * hundred clients cost one concatenation, not a hundred.
   */
  private deliver(events: JobEventRecord[]): void {
    if (events.length === 0) return;
    const texts = events.map(eventText);
    for (const event of events) this.changedQueues.add(event.queue);
    const first = (events[0] as JobEventRecord).id;
    const shared = new Map<string | undefined, { text: string; lastId: number }>();
    for (const client of this.clients) {
      if (client.held) {
        for (const event of events) if (visible(client.scope, event)) client.held.push(event);
        continue;
      }
      if (client.lastSent >= first) {
        this.deliverEach(client, events, texts);
        continue;
      }
      let page = shared.get(client.scope.tenant);
      if (!page) {
        page = pageOf(client.scope, events, texts);
        shared.set(client.scope.tenant, page);
      }
      if (page.text) {
        client.lastSent = page.lastId;
        this.write(client, page.text);
      }
    }
    this.countsTimer ??= setTimeout(() => void this.sendCounts(), COUNTS_EVERY_MS);
  }

  /** A client that has seen part of the page already (it replayed from Last-Event-ID meanwhile). */
  private deliverEach(client: Client, events: JobEventRecord[], texts: string[]): void {
    let out = '';
    events.forEach((event, index) => {
      if (!visible(client.scope, event) || event.id <= client.lastSent) return;
      client.lastSent = event.id;
      out += texts[index];
    });
    if (out) this.write(client, out);
  }

  private send(client: Client, event: JobEventRecord): void {
    client.lastSent = event.id;
    this.write(client, eventText(event));
  }

  /** `queue.counts` for each changed queue, computed once per tenant among the connected clients. */
  private async sendCounts(): Promise<void> {
    const queues = [...this.changedQueues];
    this.changedQueues.clear();
    try {
      const byTenant = new Map<string | undefined, Client[]>();
      for (const client of this.clients) {
        const list = byTenant.get(client.scope.tenant) ?? [];
        list.push(client);
        byTenant.set(client.scope.tenant, list);
      }
      for (const [tenant, clients] of byTenant) {
        for (const queue of queues) {
          const counts = await this.service.queueCounts(queue, { tenant });
          const text = `event: queue.counts\ndata: ${JSON.stringify({ queue, counts })}\n\n`;
          for (const client of clients) if (!client.held) this.write(client, text);
        }
      }
    } catch (error) {
      this.log.warn({ err: error }, 'counting a queue failed');
    } finally {
      this.countsTimer = null;
    }
  }

  private write(client: Client, text: string): void {
    if (client.response.writableLength > MAX_BUFFERED) {
      client.response.destroy();
      return;
    }
    client.response.write(text);
  }

  /** Ends every stream and stops tailing (server shutdown). */
  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.countsTimer) clearTimeout(this.countsTimer);
    for (const client of this.clients) client.response.end();
    this.clients.clear();
    await this.stopWatching?.();
  }
}
