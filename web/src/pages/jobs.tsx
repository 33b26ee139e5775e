/**
 * Jobs: a live list over the event stream with filters kept in the URL (so a view can be
 * bookmarked), server-side sort and paging, and bulk actions on the selection or on every match.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { query } from '../api';
import { ErrorNote, Progress, StateBadge, Time } from '../components/ui';
import { listOf, useApi } from '../data';
import { type Filters, filtersOf } from '../filters';
import type { JobEvent } from '../live';
import { useLiveEvents } from '../live';
import { href, navigate } from '../router';
import { canAct, useSession } from '../session';
import { type Job, type JobList, PENDING_KINDS, type Queue, STATES } from '../types';
import { BulkActions } from './bulk';

const ORDERS: [string, string][] = [
  ['-created_at', 'Newest first'],
  ['created_at', 'Oldest first'],
  ['-priority', 'Highest priority'],
  ['priority', 'Lowest priority'],
  ['-ended_at', 'Ended, latest first'],
  ['ended_at', 'Ended, earliest first'],
];
const LIMITS = [25, 50, 100, 200];

export function JobsPage({ params }: { params: URLSearchParams }) {
  const me = useSession();
  const filters = filtersOf(params);
  const order = params.get('order') ?? '-created_at';
  const page = Math.max(1, Number(params.get('page') ?? 1) || 1);
  const limit = Number(params.get('limit') ?? 50) || 50;
  const listPath = `jobs${query({ ...filters, order, page, limit })}`;

  const list = useApi<JobList>(listPath, { eventTypes: ['job.created', 'job.state'] });
  // The rows are the answer's, with progress applied in place; they are derived in the same render
  // as the summary (an effect copying them would leave the table one render behind its summary).
  const [patched, setPatched] = useState<{ from: JobList; rows: Job[] } | null>(null);
  const rows = list.data ? (patched?.from === list.data ? patched.rows : list.data.jobs) : null;
  const answer = useRef(list.data);
  answer.current = list.data;
  // Progress changes only touch a row in place: no request.
  useLiveEvents((type, data: JobEvent) => {
    if (type !== 'job.progress') return;
    const id = data.job_id ?? data.id;
    setPatched((current) => {
      const from = answer.current;
      if (!from) return current;
      const base = current?.from === from ? current.rows : from.jobs;
      if (!base.some((job) => job.id === id)) return current;
      const rows = base.map((job) =>
        job.id === id
          ? {
              ...job,
              progress: data.progress ?? job.progress,
              progress_message: data.progress_message ?? job.progress_message,
            }
          : job,
      );
      return { from, rows };
    });
  }, []);

  const [selected, setSelected] = useState<Set<number>>(new Set());
  useEffect(() => setSelected(new Set()), [listPath]);

  const go = useCallback(
    (changes: Record<string, string | number | undefined>) => {
      const next: Record<string, string | number | undefined> = { ...filters, order, limit, page: 1, ...changes };
      if (next.order === '-created_at') delete next.order;
      if (next.limit === 50) delete next.limit;
      if (next.page === 1) delete next.page;
      navigate(href('/jobs', next));
    },
    [filters, order, limit],
  );

  const total = list.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / limit));
  const actor = canAct(me);
  return (
    <section class="stack">
      <h1>Jobs</h1>
      <FilterForm filters={filters} order={order} limit={limit} admin={me.role === 'admin'} go={go} />
      <ErrorNote error={list.error} />
      <p class="summary" aria-live="polite">
        {list.data ? `${total} job${total === 1 ? '' : 's'} match · page ${page} of ${pages}` : 'Loading…'}
      </p>
      {actor && rows && (
        <BulkActions
          selected={[...selected]}
          filters={filters}
          total={total}
          onDone={() => {
            setSelected(new Set());
            list.reload();
          }}
        />
      )}
      {rows && <JobTable rows={rows} selectable={actor} selected={selected} setSelected={setSelected} />}
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={page <= 1} onClick={() => go({ page: page - 1 })}>
          ← Previous
        </button>
        <span>
          Page {page} of {pages}
        </span>
        <button type="button" disabled={page >= pages} onClick={() => go({ page: page + 1 })}>
          Next →
        </button>
      </nav>
    </section>
  );
}

function FilterForm(props: {
  filters: Filters;
  order: string;
  limit: number;
  admin: boolean;
  go: (changes: Record<string, string | number | undefined>) => void;
}) {
  const { filters, go } = props;
  const statuses = new Set((filters.status ?? '').split(',').filter(Boolean));
  // The suggestions are asked for once the form is first used, so they never delay the list.
  const [suggest, setSuggest] = useState(false);
  const queues = useApi<unknown>(suggest ? 'queues' : null, { pollMs: 0 });
  const types = useApi<unknown>(suggest ? 'job-types' : null, { pollMs: 0 });
  const toggle = (state: string, on: boolean) => {
    const next = new Set(statuses);
    if (on) next.add(state);
    else next.delete(state);
    go({ status: [...next].join(',') || undefined });
  };
  const text = (key: keyof Filters, label: string, list?: string[]) => (
    <div class="field">
      <label for={`filter-${key}`}>{label}</label>
      <input
        id={`filter-${key}`}
        name={key}
        type={key === 'q' ? 'search' : 'text'}
        list={list ? `${key}-options` : undefined}
        value={filters[key] ?? ''}
        onChange={(event) => go({ [key]: event.currentTarget.value.trim() || undefined })}
      />
      {list && (
        <datalist id={`${key}-options`}>
          {list.map((value) => (
            <option key={value} value={value} />
          ))}
        </datalist>
      )}
    </div>
  );
  return (
    <form
      class="filters"
      aria-label="Filter jobs"
      onSubmit={(event) => event.preventDefault()}
      onFocusIn={() => setSuggest(true)}
    >
      <fieldset class="states">
        <legend>State</legend>
        {[...STATES, ...PENDING_KINDS].map((state) => (
          <label key={state} class="check">
            <input
              type="checkbox"
              name="status"
              value={state}
              checked={statuses.has(state)}
              onChange={(event) => toggle(state, event.currentTarget.checked)}
            />
            {state}
          </label>
        ))}
      </fieldset>
      <div class="row">
        {text('q', 'Name or key contains')}
        {text(
          'queue',
          'Queue',
          listOf<Queue>(queues.data, 'queues').map((queue) => queue.name),
        )}
        {text(
          'type',
          'Type',
          listOf<{ id: string }>(types.data, 'job_types').map((type) => type.id),
        )}
        {text('group', 'Group')}
        <div class="field">
          <label for="filter-scheduler">Scheduler</label>
          <select
            id="filter-scheduler"
            value={filters.scheduler ?? ''}
            onChange={(event) => go({ scheduler: event.currentTarget.value || undefined })}
          >
            <option value="">any</option>
            <option value="local">local</option>
            <option value="slurm">SLURM</option>
          </select>
        </div>
        {props.admin && text('tenant', 'Tenant')}
        <div class="field">
          <label for="filter-order">Sort</label>
          <select id="filter-order" value={props.order} onChange={(event) => go({ order: event.currentTarget.value })}>
            {ORDERS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-limit">Per page</label>
          <select
            id="filter-limit"
            value={String(props.limit)}
            onChange={(event) => go({ limit: Number(event.currentTarget.value) })}
          >
            {(LIMITS.includes(props.limit) ? LIMITS : [...LIMITS, props.limit].sort((a, b) => a - b)).map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </div>
        {Object.keys(filters).length > 0 && (
          <a class="button" href="#/jobs">
            Clear filters
          </a>
        )}
      </div>
    </form>
  );
}

function JobTable(props: {
  rows: Job[];
  selectable: boolean;
  selected: Set<number>;
  setSelected: (next: Set<number>) => void;
}) {
  const { rows, selected, setSelected } = props;
  if (rows.length === 0) return <p class="muted">No job matches.</p>;
  const allSelected = rows.every((job) => selected.has(job.id));
  return (
    <div class="table-wrap">
      <table class="jobs">
        <thead>
          <tr>
            {props.selectable && (
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label="Select every job on this page"
                  checked={allSelected}
                  onChange={(event) =>
                    setSelected(event.currentTarget.checked ? new Set(rows.map((job) => job.id)) : new Set())
                  }
                />
              </th>
            )}
            <th scope="col" class="num">
              ID
            </th>
            <th scope="col">Name</th>
            <th scope="col">State</th>
            <th scope="col">Queue</th>
            <th scope="col">Type</th>
            <th scope="col" class="num">
              Priority
            </th>
            <th scope="col">Progress</th>
            <th scope="col">Created</th>
            <th scope="col">Ended</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((job) => (
            <tr key={job.id} data-job-id={job.id}>
              {props.selectable && (
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Select job ${job.id}`}
                    checked={selected.has(job.id)}
                    onChange={(event) => {
                      const next = new Set(selected);
                      if (event.currentTarget.checked) next.add(job.id);
                      else next.delete(job.id);
                      setSelected(next);
                    }}
                  />
                </td>
              )}
              <td class="num">
                <a href={href(`/jobs/${job.id}`)}>#{job.id}</a>
              </td>
              <td class="name">{job.name}</td>
              <td>
                <StateBadge job={job} />
              </td>
              <td>{job.queue}</td>
              <td>{job.type}</td>
              <td class="num">{job.priority}</td>
              <td>
                <Progress value={job.progress} message={job.progress_message} />
              </td>
              <td>
                <Time iso={job.created_at} />
              </td>
              <td>
                <Time iso={job.ended_at} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
