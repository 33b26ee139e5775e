import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/core/errors.js';
import { formatDuration, formatSize, parseDuration, parseSize, parseTime } from '../../src/core/units.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90],
    ['5m', 300],
    ['2h', 7200],
    ['1h30m', 5400],
    ['1:30:00', 5400],
    ['30:00', 1800],
    ['2-00:00:00', 172800],
    ['1-12', 129600],
    ['45', 45],
    ['250ms', 0.25],
    ['1d', 86400],
  ])('%s is %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', 'soon', '5 parsecs', '-5m', '1:xx'])('refuses %j naming the field', (text) => {
    expect(() => parseDuration(text, '--time-limit')).toThrowError(/^--time-limit: /);
    expect(() => parseDuration(text, '--time-limit')).toThrowError(InvalidInputError);
  });
});

describe('parseSize', () => {
  it.each([
    ['512M', 512 * 1024 ** 2],
    ['32GB', 32 * 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['1024', 1024],
    ['4GiB', 4 * 1024 ** 3],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it('refuses nonsense naming the field', () => {
    expect(() => parseSize('lots', '--memory')).toThrowError(/^--memory: "lots" is not a size/);
  });
});

describe('parseTime', () => {
  it('reads ISO-8601', () => {
    expect(parseTime('2030-01-02T03:04:05Z', '--at', 'future')).toBe(Date.UTC(2030, 0, 2, 3, 4, 5));
  });
  it('reads a duration as an offset from now', () => {
    expect(parseTime('1h', '--before', 'past', 10_000_000)).toBe(10_000_000 - 3_600_000);
    expect(parseTime('90s', '--delay', 'future', 1000)).toBe(91_000);
  });
});

describe('formatSize', () => {
  it('prints whole binary units, and rounds anything else up to the next MiB (or KiB below one)', () => {
    expect(formatSize(512 * 1024 ** 2)).toBe('512M');
    expect(formatSize(32 * 1024 ** 3)).toBe('32G');
    expect(formatSize(2 * 1024 ** 4)).toBe('2T');
    expect(formatSize(1.5 * 1024 ** 3)).toBe('1536M');
    expect(formatSize(1024 ** 2 + 1)).toBe('2M');
    expect(formatSize(1000)).toBe('1K');
  });
});

describe('formatDuration', () => {
  it.each([
    [7200, '2h'],
    [5400, '1h30m'],
    [90, '1m30s'],
    [86400 * 30, '30d'],
    [129600, '1d12h'],
    [2.5, '2.5s'],
    [0.032, '32ms'],
    [0, '0s'],
  ])('%s seconds print as %s, which parses back', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
    expect(parseDuration(text)).toBeCloseTo(seconds);
  });
});
