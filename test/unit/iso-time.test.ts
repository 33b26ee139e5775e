import { describe, expect, it } from 'vitest';
import { isoTime, isoTimeOrNull } from '../../src/core/iso-time.js';

const expected = (ms: number) => new Date(ms).toISOString();

describe('isoTime writes what Date#toISOString writes', () => {
  it('on the edges of days, months, leap years, centuries and the four-digit years', () => {
    const dates = [
      '1970-01-01T00:00:00.000Z',
      '1969-12-31T23:59:59.999Z',
      '2000-02-29T12:00:00.005Z',
      '1900-02-28T23:59:59.050Z',
      '1900-03-01T00:00:00.000Z',
      '2100-02-28T23:59:59.999Z',
      '2024-12-31T23:59:59.999Z',
      '2026-12-01T10:45:35.083Z',
      '0000-01-01T00:00:00.000Z',
      '0099-03-01T01:02:03.400Z',
      '0999-12-31T23:59:59.999Z',
      '9999-12-31T23:59:59.999Z',
    ].map((text) => Date.parse(text));
    for (const ms of dates) expect(isoTime(ms)).toBe(expected(ms));
  });

  it('outside years 0–9999 and for fractions of a millisecond (written by Date itself)', () => {
    for (const ms of [Date.parse('0000-01-01T00:00:00.000Z') - 1, Date.parse('9999-12-31T23:59:59.999Z') + 1, 1.5]) {
      expect(isoTime(ms)).toBe(expected(ms));
    }
  });

  it('for every hour of four years, at a different millisecond each', () => {
    const start = Date.parse('2023-01-01T00:00:00.000Z');
    for (let hour = 0; hour < 4 * 366 * 24; hour++) {
      const ms = start + hour * 3_600_000 + ((hour * 7919) % 3_600_000);
      expect(isoTime(ms)).toBe(expected(ms));
    }
  });

  it('null stays null', () => {
    expect(isoTimeOrNull(null)).toBeNull();
    expect(isoTimeOrNull(0)).toBe('1970-01-01T00:00:00.000Z');
  });
});
