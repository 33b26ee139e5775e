/**
 * Server-sent events over `fetch`, because EventSource cannot send an Authorization header and the
 * token must never travel as a cookie or in a URL. Parses the text/event-stream format (WHATWG HTML
 * §9.2.6): `event:`, `data:` (joined by newlines), `id:`, comments; an empty line dispatches.
 */
import { API_BASE, authHeaders } from './api';

export interface ServerEvent {
  type: string;
  data: string;
  id: string | null;
}

/** Splits a text/event-stream into events; feed it chunks as they arrive. */
export class EventStreamParser {
  private buffer = '';
  private type = '';
  private data: string[] = [];
  private id: string | null = null;
  constructor(private readonly dispatch: (event: ServerEvent) => void) {}

  push(chunk: string): void {
    this.buffer += chunk;
    let end = this.buffer.search(/\r\n|\r|\n/);
    while (end >= 0) {
      const line = this.buffer.slice(0, end);
      const breakLength = this.buffer.startsWith('\r\n', end) ? 2 : 1;
      // A lone \r at the very end may be the first half of \r\n: wait for more.
      if (breakLength === 1 && this.buffer[end] === '\r' && end === this.buffer.length - 1) return;
      this.buffer = this.buffer.slice(end + breakLength);
      this.line(line);
      end = this.buffer.search(/\r\n|\r|\n/);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0)
        this.dispatch({ type: this.type || 'message', data: this.data.join('\n'), id: this.id });
      this.type = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.type = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

/**
 * Reads one SSE response to its end. Resolves when the server closes the stream; rejects on a
 * network error or a non-2xx status (with the status on the error).
 */
export async function readEventStream(
  path: string,
  onEvent: (event: ServerEvent) => void,
  options: { signal: AbortSignal; lastEventId?: string | null; onOpen?: () => void },
): Promise<void> {
  const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders() };
  if (options.lastEventId) headers['last-event-id'] = options.lastEventId;
  const response = await fetch(API_BASE + path, {
    headers,
    signal: options.signal,
    credentials: 'omit',
    cache: 'no-store',
  });
  if (!response.ok || !response.body) {
    throw Object.assign(new Error(`event stream ${path}: HTTP ${response.status}`), { status: response.status });
  }
  options.onOpen?.();
  const parser = new EventStreamParser(onEvent);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    parser.push(value);
  }
}
