import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerInfo } from '../../src/core/words.js';
import { thisMachine } from '../../src/worker/machine.js';
import { wakeWorkers } from '../../src/worker/on-demand.js';
import { workerAlive } from '../../src/worker/reconcile.js';
import { poke, type WakeKind, WakeListener } from '../../src/worker/wake.js';

/** A listener with the kinds it received, and a promise for the next one. */
async function listening() {
  const received: WakeKind[] = [];
  let arrived: (() => void) | null = null;
  const listener = new WakeListener();
  const address = await listener.listen((kind) => {
    received.push(kind);
    arrived?.();
  });
  const next = () =>
    new Promise<void>((resolve) => {
      arrived = resolve;
    });
  return { listener, address: address as string, received, next };
}

let open: WakeListener[] = [];
afterEach(() => {
  for (const listener of open) listener.close();
  open = [];
});

describe('wake-ups between processes of one machine', () => {
  it('a worker publishes a loopback datagram address of its network namespace', async () => {
    const { listener, address } = await listening();
    open.push(listener);
    expect(address).toMatch(/^udp:\d+@net:\[\d+\]$/);
    expect(address.endsWith(`@${readlinkSync('/proc/self/ns/net')}`)).toBe(true);
  });

  it('a poke wakes the listener with its kind', async () => {
    const { listener, address, received, next } = await listening();
    open.push(listener);
    let woke = next();
    await poke(address, 'work');
    await woke;
    woke = next();
    await poke(address, 'control');
    await woke;
    expect(received).toEqual(['work', 'control']);
  });

  it('an address of another network namespace is not poked (its port means nothing on this loopback)', async () => {
    const { listener, address, received, next } = await listening();
    open.push(listener);
    const elsewhere = address.replace(/@net:\[\d+\]$/, '@net:[1]');
    const woke = next();
    // Sent in this order from one socket to one port, the first would arrive first if it were sent.
    await poke(elsewhere, 'control');
    await poke(address, 'work');
    await woke;
    expect(received).toEqual(['work']);
  });

  it('a malformed or vanished address is ignored, never thrown', async () => {
    const { listener, address } = await listening();
    listener.close();
    await expect(poke(address)).resolves.toBeUndefined();
    for (const bad of ['udp:', 'udp:0@x', 'udp:99999@net:[1]', 'udp:abc@net:[1]', '@docket-gone']) {
      await expect(poke(bad)).resolves.toBeUndefined();
    }
  });
});

describe('which workers a submit pokes', () => {
  const worker = (address: string, pid: number, machine: string): WorkerInfo => ({
    id: `w-${pid}-${machine}`,
    host: hostname(),
    machine,
    pid,
    pidStart: null,
    queues: ['*'],
    concurrency: 1,
    wakeAddress: address,
    startedAt: Date.now(),
    heartbeatAt: Date.now(),
  });

  it('only workers of this machine whose process is still there (a dead one’s port may be reused)', async () => {
    const skipped = await listening();
    const poked = await listening();
    open.push(skipped.listener, poked.listener);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const wokeUp = poked.next();
    const registered = [
      worker(skipped.address, dead, thisMachine()),
      worker(skipped.address, process.pid, 'another-boot-id/pid:[1]'),
      worker(poked.address, process.pid, thisMachine()),
    ];
    // As a submit does (Workforce.notify): the live workers, then the pokes.
    wakeWorkers(
      registered.filter((record) => workerAlive(record, 60_000)),
      ['default'],
    );
    await wokeUp;
    // A datagram to `skipped` sent before this one would have arrived before it: one socket, in order.
    const control = skipped.next();
    await poke(skipped.address, 'control');
    await control;
    expect(poked.received).toEqual(['work']);
    expect(skipped.received).toEqual(['control']);
  });
});
