/**
 * Cross-process wake-ups on one machine without polling: every worker listens on a Unix socket
 * (Linux's abstract namespace, so nothing is left on disk when it dies) and a submit pokes it.
 */
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server } from 'node:net';

/** `work`: jobs were submitted. `control`: a job it runs was cancelled, suspended or resumed. */
export type WakeKind = 'work' | 'control';
const WORK_BYTE = 0x77; // 'w'
const CONTROL_BYTE = 0x63; // 'c'

/** Stored addresses start with `@` for the abstract namespace (a NUL byte on the wire). */
function socketPath(address: string): string {
  return address.startsWith('@') ? `\0${address.slice(1)}` : address;
}

/** A one-slot latch: `wake()` ends the current (or next) `wait()` early. */
export class Wakeup {
  private release: (() => void) | undefined;
  private pending = false;

  wake(): void {
    if (this.release) this.release();
    else this.pending = true;
  }

  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      const self = this;
      function done() {
        clearTimeout(timer);
        self.release = undefined;
        resolve();
      }
      this.release = done;
    });
  }
}

export class WakeListener {
  private server: Server | undefined;
  readonly address = `@docket-${randomBytes(8).toString('hex')}`;

  /** Starts listening; every poke calls `onWake` with its kind. Resolves to the address to publish. */
  async listen(onWake: (kind: WakeKind) => void): Promise<string | null> {
    if (process.platform !== 'linux') return null; // other platforms fall back to polling
    const server = createServer((socket) => {
      socket.once('data', (data) => {
        onWake(data[0] === CONTROL_BYTE ? 'control' : 'work');
        socket.destroy();
      });
      socket.once('error', () => socket.destroy());
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath(this.address), () => resolve());
    });
    server.unref();
    return this.address;
  }

  close(): void {
    this.server?.close();
  }
}

/**
 * Work pokes not yet written, by address. A second poke before the first is written adds nothing:
 * the worker wakes after both submits committed and claims both jobs. (Once written, a poke no
 * longer covers later submits, so it leaves this map just before it is written.)
 */
const unwritten = new Map<string, Promise<void>>();

/** Pokes a worker; never throws (a worker that is gone simply is not woken). */
export function poke(address: string, kind: WakeKind = 'work', timeoutMs = 500): Promise<void> {
  const pending = kind === 'work' ? unwritten.get(address) : undefined;
  if (pending) return pending;
  const sent = new Promise<void>((resolve) => {
    const socket = createConnection(socketPath(address));
    const finish = () => {
      if (unwritten.get(address) === sent) unwritten.delete(address);
      socket.destroy();
      resolve();
    };
    socket.setTimeout(timeoutMs, finish);
    socket.once('connect', () => {
      if (unwritten.get(address) === sent) unwritten.delete(address);
      socket.end(Buffer.from([kind === 'control' ? CONTROL_BYTE : WORK_BYTE]), finish);
    });
    socket.once('error', finish);
  });
  if (kind === 'work') unwritten.set(address, sent);
  return sent;
}
