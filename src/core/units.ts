/**
 * Parsing of the human units the CLI accepts: durations (`90s`, `5m`, `2h`, `1:30:00`,
 * SLURM's `2-00:00:00`), sizes (`512M`, `32GB`) and times (a duration from now or ISO-8601).
 */
import { InvalidInputError } from './errors.js';

const UNIT_SECONDS: Record<string, number> = {
  ms: 0.001,
  s: 1,
  sec: 1,
  m: 60,
  min: 60,
  h: 3600,
  d: 86400,
  w: 604800,
};

/** The longest duration docket accepts anywhere (delays, time limits, retry delays): 100 years. */
export const MAX_DURATION_SECONDS = 100 * 365.25 * 86400;

/** The priorities docket stores: PostgreSQL's integer column, the same on both engines. */
export const PRIORITY_RANGE = { min: -(2 ** 31), max: 2 ** 31 - 1 } as const;

/**
 * Parses a duration into seconds (at most MAX_DURATION_SECONDS). Accepts a bare number (seconds), a number with a unit
 * (`ms s m h d w`), sequences like `1h30m`, and SLURM's `[D-]HH:MM:SS`, `MM:SS` and `D-HH[:MM]`.
 * @throws InvalidInputError (naming `field`) for text that is no duration, or one longer than 100 years.
 */
export function parseDuration(text: string, field = 'duration'): number {
  const seconds = durationSeconds(text, field);
  if (seconds > MAX_DURATION_SECONDS) throw new InvalidInputError(field, `"${text}" is longer than 100 years`);
  return seconds;
}

function durationSeconds(text: string, field: string): number {
  const value = text.trim();
  const fail = () =>
    new InvalidInputError(field, `"${text}" is not a duration; use e.g. 90s, 5m, 2h, 1:30:00 or 2-00:00:00`);
  if (value === '') throw fail();
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const slurm = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(value);
  if (slurm && (value.includes(':') || value.includes('-'))) return slurmSeconds(slurm);
  let total = 0;
  let rest = value.toLowerCase();
  while (rest.length > 0) {
    const part = /^(\d+(?:\.\d+)?)\s*(ms|sec|min|s|m|h|d|w)\s*/.exec(rest);
    if (!part) throw fail();
    total += Number(part[1]) * (UNIT_SECONDS[part[2] as string] as number);
    rest = rest.slice(part[0].length);
  }
  return total;
}

function slurmSeconds(match: RegExpExecArray): number {
  const [, days, a, b, c] = match;
  const d = Number(days ?? 0);
  // SLURM: "D-HH", "D-HH:MM", "D-HH:MM:SS", "MM:SS", "HH:MM:SS".
  if (days !== undefined) return d * 86400 + Number(a) * 3600 + Number(b ?? 0) * 60 + Number(c ?? 0);
  if (c !== undefined) return Number(a) * 3600 + Number(b) * 60 + Number(c);
  return Number(a) * 60 + Number(b ?? 0);
}

const SIZE_FACTORS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * Parses a memory size into bytes: `512M`, `32GB`, `1.5g`, `1024` (bytes), binary multiples.
 * @throws InvalidInputError (naming `field`) for text that is no size.
 */
export function parseSize(text: string, field = 'size'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(text);
  if (!match) throw new InvalidInputError(field, `"${text}" is not a size; use e.g. 512M, 4G or 32GB`);
  const factor = SIZE_FACTORS[(match[2] ?? '').toLowerCase()] as number;
  return Math.round(Number(match[1]) * factor);
}

/** Formats bytes compactly (`512M`, `32G`), as SLURM's `--mem` accepts them. */
export function formatSize(bytes: number): string {
  for (const [unit, factor] of [
    ['T', 1024 ** 4],
    ['G', 1024 ** 3],
    ['M', 1024 ** 2],
    ['K', 1024],
  ] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return bytes >= 1024 ** 2 ? `${Math.ceil(bytes / 1024 ** 2)}M` : `${Math.ceil(bytes / 1024)}K`;
}

/** Parses a point in time: ISO-8601, or a duration meaning "that long ago/ahead" (sign given by `direction`). */
export function parseTime(text: string, field: string, direction: 'past' | 'future', now = Date.now()): number {
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) throw new InvalidInputError(field, `"${text}" is not a valid ISO-8601 time`);
    if (Math.abs(ms - now) > MAX_DURATION_SECONDS * 1000) {
      throw new InvalidInputError(field, `"${text}" is more than 100 years away`);
    }
    return ms;
  }
  let seconds: number;
  try {
    seconds = parseDuration(text, field);
  } catch (error) {
    if (!(error instanceof InvalidInputError) || !/is not a duration/.test(error.message)) throw error;
    // Neither form: name both, not only the duration it fell back to.
    const from = direction === 'past' ? 'ago' : 'from now';
    throw new InvalidInputError(
      field,
      `"${text}" is not a time; give an ISO-8601 time (e.g. 2026-12-01T09:00:00Z) or a duration ${from} (e.g. 90s, 2h, 1:30:00)`,
    );
  }
  return direction === 'past' ? now - seconds * 1000 : now + seconds * 1000;
}

/** Parses an integer flag (by default a positive one, at most 2^31 − 1), naming the flag when it is not one. */
export function parseCount(text: string, field: string, { min = 1, max = PRIORITY_RANGE.max } = {}): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || value < min || value > max) {
    throw new InvalidInputError(field, `"${text}" is not an integer from ${min} to ${max}`);
  }
  return value;
}

/** Parses a job id. */
export function parseJobId(text: string, field = 'id'): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) {
    throw new InvalidInputError(field, `"${text}" is not a job id; ids are positive integers (see docket list)`);
  }
  return Number(text);
}

/**
 * Seconds as people type them: `2h`, `1h30m`, `90s` → `1m30s`, `1d12h`; under a second in ms
 * (`32ms`), fractions of a second only under ten seconds (`2.5s`). The inverse of parseDuration for whole units.
 */
export function formatDuration(seconds: number): string {
  if (seconds > 0 && seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 10 && !Number.isInteger(seconds)) return `${Number(seconds.toFixed(1))}s`;
  let rest = Math.round(seconds);
  if (rest === 0) return '0s';
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
