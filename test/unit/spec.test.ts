import { describe, expect, it } from 'vitest';
import { canonicalKey, normalizeSpec } from '../../src/core/spec.js';

describe('normalizeSpec', () => {
  it('fills defaults', () => {
    const job = normalizeSpec({ command: 'echo hi' }, 1000, '/tmp');
    expect(job).toMatchObject({
      name: 'echo hi',
      type: 'command',
      queue: 'default',
      priority: 0,
      scheduler: 'local',
      cwd: '/tmp',
      maxAttempts: 1,
      runAt: 1000,
      tenant: 'default',
      dependsOn: [],
    });
  });

  it.each([
    [{}, /^command: nothing to run/],
    [{ command: 'a', argv: ['b'] }, /^command: give either/],
    [{ command: 'x', queue: 'bad queue' }, /^queue: /],
    [{ command: 'x', priority: 1.5 }, /^priority: /],
    [{ command: 'x', maxAttempts: 0 }, /^max_attempts: /],
    [{ command: 'x', env: { 'not valid': 'v' } }, /^env: /],
    [{ command: 'x', timeLimitSeconds: -1 }, /^time_limit: /],
    [{ command: 'x', dependsOn: [0] }, /^after: /],
    [{ command: 'x', name: 'a\u0000' }, /^name: contains a NUL character/],
    [{ argv: ['echo', 'a\u0000'] }, /^argv\[1\]: contains a NUL character/],
    [{ type: 't', params: { list: [{ note: '\u0000' }] } }, /^params\.list\[0\]\.note: contains a NUL/],
    [{ type: 't', params: { 'k\u0000': 1 } }, /^params\.k.: contains a NUL/],
    [{ command: 'x', restartedFrom: 1, key: { k: '\u0000' } }, /^key\.k: contains a NUL/],
  ])('refuses %j naming the field', (spec, message) => {
    expect(() => normalizeSpec(spec as never)).toThrowError(message);
  });
});

describe('canonicalKey', () => {
  it('stores objects with sorted keys, so key order does not matter', () => {
    expect(canonicalKey({ b: 2, a: { d: 1, c: [1, { f: 1, e: 2 }] } })).toBe(
      '{"a":{"c":[1,{"e":2,"f":1}],"d":1},"b":2}',
    );
    expect(canonicalKey({ a: 1, b: 2 })).toBe(canonicalKey({ b: 2, a: 1 }));
  });
  it('keeps strings as they are', () => {
    expect(canonicalKey('nightly-2026-11-22')).toBe('nightly-2026-11-22');
  });
});

describe('resources', () => {
  it('takes the short names a researcher types, memory as a size or bytes', () => {
    const job = normalizeSpec({ command: 'x', resources: { gpus: 2, cpus: 8, memory: '32G' } }, 0, '/tmp');
    expect(job.resources).toEqual({ gpuCount: 2, cpuCount: 8, memoryBytes: 32 * 1024 ** 3 });
    const same = normalizeSpec(
      { command: 'x', resources: { gpuCount: 2, cpuCount: 8, memoryBytes: 32 * 1024 ** 3 } },
      0,
      '/tmp',
    );
    expect(same.resources).toEqual(job.resources);
  });

  it.each([
    [{ gpus: 1, gpuCount: 2 }, /^resources\.gpus\/gpuCount: give one/],
    [{ memory: '12XB' }, /^memory: "12XB" is not a size/],
    [{ cpus: 0 }, /^cpu_count: /],
  ])('refuses %o naming the field', (given, message) => {
    expect(() => normalizeSpec({ command: 'x', resources: given }, 0, '/tmp')).toThrow(message);
  });
});
