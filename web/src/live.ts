/**
 * One connection to `GET /events` for the whole dashboard. Pages subscribe to the event types they
 * show; on a dropped connection it reconnects with `Last-Event-ID` so nothing is missed, and tells
 * subscribers whether they are live (pages poll only while they are not).
 */
import { useEffect, useState } from 'preact/hooks';
import { readEventStream, type ServerEvent } from './sse';

/** The payload of a job event, as far as the dashboard reads it. */
export interface JobEvent {
  id?: number;
  job_id?: number;
  status?: string;
  progress?: number | null;
  progress_message?: string | null;
  queue?: string;
  [field: string]: unknown;
}

type Listener = (type: string, data: JobEvent) => void;
type Status = 'connecting' | 'live' | 'offline';

const listeners = new Set<Listener>();
const statusListeners = new Set<(status: Status) => void>();
let status: Status = 'connecting';
let controller: AbortController | null = null;

function setStatus(next: Status): void {
  if (next === status) return;
  status = next;
  for (const listener of statusListeners) listener(next);
}

function deliver(event: ServerEvent): void {
  let data: JobEvent = {};
  try {
    data = JSON.parse(event.data) as JobEvent;
  } catch {
    return; // heartbeats and anything unreadable carry nothing to show
  }
  for (const listener of listeners) listener(event.type, data);
}

/** Starts the shared stream (idempotent); stops it with `stopLive`. */
export function startLive(): void {
  if (controller) return;
  const own = new AbortController();
  controller = own;
  let lastEventId: string | null = null;
  let delay = 500;
  void (async () => {
    while (!own.signal.aborted) {
      try {
        setStatus('connecting');
        await readEventStream(
          'events',
          (event) => {
            if (event.id) lastEventId = event.id;
            deliver(event);
          },
          {
            signal: own.signal,
            lastEventId,
            onOpen: () => {
              setStatus('live');
              delay = 500;
            },
          },
        );
      } catch (error) {
        if (own.signal.aborted) return;
        if ((error as { status?: number }).status === 401) {
          setStatus('offline');
          return;
        }
      }
      setStatus('offline');
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  })();
}

export function stopLive(): void {
  controller?.abort();
  controller = null;
  setStatus('connecting');
}

/** Calls `listener` for every event while the component is mounted. */
export function useLiveEvents(listener: Listener, deps: unknown[] = []): void {
  useEffect(() => {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, deps);
}

/** Whether the event stream is connected right now. */
export function useLiveStatus(): Status {
  const [current, setCurrent] = useState(status);
  useEffect(() => {
    statusListeners.add(setCurrent);
    setCurrent(status);
    return () => {
      statusListeners.delete(setCurrent);
    };
  }, []);
  return current;
}
