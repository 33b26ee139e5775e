/**
 * The WHERE and ORDER BY of a job search, shared by both engines: each passes a function that adds
 * a value and returns its placeholder (`?` on SQLite, `$n` on PostgreSQL). Only allow-listed column
 * names reach the SQL text; every value is a parameter.
 */
import type { JobSearch, SearchOrder } from './engine.js';

const ORDER_COLUMN: Record<SearchOrder, string> = {
  created_at: 'id',
  priority: 'priority',
  started_at: 'started_at',
  ended_at: 'ended_at',
  updated_at: 'updated_at',
  name: 'name',
};

/** `WHERE …` (or '') for a search; `param` adds a value and returns its placeholder. */
export function searchWhere(query: JobSearch, param: (value: unknown) => string, like: 'LIKE' | 'ILIKE'): string {
  const where: string[] = [];
  if (query.tenant !== undefined) where.push(`tenant = ${param(query.tenant)}`);
  if (query.ids !== undefined) {
    where.push(query.ids.length === 0 ? '1 = 0' : `id IN (${query.ids.map((id) => param(id)).join(', ')})`);
  }
  for (const [column, value] of [
    ['queue', query.queue],
    ['type', query.type],
    ['job_group', query.group],
    ['key', query.key],
    ['scheduler', query.scheduler],
  ] as const) {
    if (value !== undefined) where.push(`${column} = ${param(value)}`);
  }
  if (query.nameOrKeyContains !== undefined) {
    const pattern = `%${query.nameOrKeyContains.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
    where.push(`(name ${like} ${param(pattern)} ESCAPE '\\' OR key ${like} ${param(pattern)} ESCAPE '\\')`);
  }
  if (query.nameGlob !== undefined) {
    where.push(`name ${like} ${param(globToLike(query.nameGlob))} ESCAPE '\\'`);
  }
  if (query.createdFrom !== undefined) where.push(`created_at >= ${param(query.createdFrom)}`);
  if (query.createdBefore !== undefined) where.push(`created_at < ${param(query.createdBefore)}`);
  if (query.statuses?.length) where.push(`(${statusTerms(query, param).join(' OR ')})`);
  return where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
}

/** A glob (`train-*`, `run-?`) as a LIKE pattern: LIKE's own wildcards in it are taken literally. */
function globToLike(glob: string): string {
  return glob.replace(/[\\%_*?]/g, (char) => (char === '*' ? '%' : char === '?' ? '_' : `\\${char}`));
}

function statusTerms(query: JobSearch, param: (value: unknown) => string): string[] {
  const statuses = query.statuses ?? [];
  const plain = statuses.filter((status) => status !== 'delayed' && status !== 'blocked');
  const terms: string[] = [];
  if (plain.length > 0) terms.push(`status IN (${plain.map((status) => param(status)).join(', ')})`);
  if (statuses.includes('delayed')) {
    terms.push(`(status = 'pending' AND blocked_by = 0 AND run_at > ${param(query.now)})`);
  }
  if (statuses.includes('blocked')) terms.push(`(status = 'pending' AND blocked_by > 0)`);
  return terms;
}

/** `ORDER BY …` for a search: the allow-listed column, then the id, so pages never overlap. */
export function searchOrder(query: JobSearch): string {
  const direction = query.descending ? 'DESC' : 'ASC';
  const column = ORDER_COLUMN[query.order];
  // NULLs (jobs not started or not ended yet) go last in both directions.
  const nulls = column === 'started_at' || column === 'ended_at' ? `${column} IS NULL, ` : '';
  return column === 'id' ? `ORDER BY id ${direction}` : `ORDER BY ${nulls}${column} ${direction}, id ${direction}`;
}
