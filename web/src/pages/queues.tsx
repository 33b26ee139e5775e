/** Queues: counts by state, capacity, paused; admins pause, resume and set capacity here. */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorNote } from '../components/ui';
import { listOf, useApi } from '../data';
import { duration } from '../format';
import { useLiveEvents } from '../live';
import { href } from '../router';
import { useSession } from '../session';
import { type Queue, STATES } from '../types';

export function QueuesPage() {
  const me = useSession();
  const queues = useQueues();
  return (
    <section class="stack">
      <h1>Queues</h1>
      {me.role !== 'admin' && <p class="muted">Only an admin token may pause queues or change their capacity.</p>}
      <ErrorNote error={queues.error} />
      {queues.list !== null && queueRows(queues.list, me.role === 'admin', queues.reload)}
    </section>
  );
}

/**
 * The queues, kept current by the stream's `queue.counts` events (patched in place: no request),
 * reloaded for a queue not seen before, and every 30 s for the oldest pending age.
 */
export function useQueues(): { list: Queue[] | null; error: unknown; reload: () => void } {
  const loaded = useApi<unknown>('queues', { pollMs: 30_000, pollWhileLive: true });
  const [list, setList] = useState<Queue[] | null>(null);
  useEffect(() => setList(loaded.data === null ? null : listOf<Queue>(loaded.data, 'queues')), [loaded.data]);
  useLiveEvents(
    (type, data) => {
      if (type !== 'queue.counts') return;
      const name = data.queue;
      const counts = data.counts as Queue['counts'] | undefined;
      if (typeof name !== 'string' || !counts) return;
      setList((current) => {
        if (current === null) return current;
        if (!current.some((queue) => queue.name === name)) {
          loaded.reload();
          return current;
        }
        return current.map((queue) => (queue.name === name ? { ...queue, counts, running: counts.running } : queue));
      });
    },
    [loaded.reload],
  );
  return { list, error: loaded.error, reload: loaded.reload };
}

function oldestAge(queue: Queue): string {
  if (queue.oldest_pending_age_s !== undefined && queue.oldest_pending_age_s !== null) {
    return duration(queue.oldest_pending_age_s * 1000);
  }
  if (queue.oldest_pending_at) return duration(Date.now() - Date.parse(queue.oldest_pending_at));
  return '–';
}

/** The queue table; with `editable`, each row has its pause/resume and capacity controls. */
export function queueRows(queues: Queue[], editable: boolean, reload?: () => void) {
  if (queues.length === 0) return <p class="muted">No queues yet: they appear with their first job.</p>;
  return (
    <div class="table-wrap">
      <table class="queues">
        <thead>
          <tr>
            <th scope="col">Queue</th>
            {STATES.map((state) => (
              <th scope="col" key={state} class="num">
                {state}
              </th>
            ))}
            <th scope="col" class="num">
              Capacity
            </th>
            <th scope="col">Paused</th>
            <th scope="col">Oldest pending</th>
            {editable && <th scope="col">Manage</th>}
          </tr>
        </thead>
        <tbody>
          {queues.map((queue) => (
            <tr key={queue.name} data-queue={queue.name}>
              <th scope="row">
                <a href={href('/jobs', { queue: queue.name })}>{queue.name}</a>
              </th>
              {STATES.map((state) => (
                <td key={state} class="num">
                  {(queue.counts?.[state] ?? 0) > 0 ? (
                    <a href={href('/jobs', { queue: queue.name, status: state })}>{queue.counts[state]}</a>
                  ) : (
                    <span class="muted">0</span>
                  )}
                </td>
              ))}
              <td class="num">
                {queue.running !== undefined ? `${queue.running} / ` : ''}
                {queue.capacity ?? '∞'}
              </td>
              <td>{queue.paused ? <strong class="paused">paused</strong> : 'no'}</td>
              <td>{oldestAge(queue)}</td>
              {editable && (
                <td>
                  <QueueControls queue={queue} onChanged={reload} />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function QueueControls({ queue, onChanged }: { queue: Queue; onChanged?: () => void }) {
  const [capacity, setCapacity] = useState(queue.capacity === null ? '' : String(queue.capacity));
  const [error, setError] = useState<unknown>(null);
  const patch = async (body: Record<string, unknown>) => {
    setError(null);
    try {
      await api(`queues/${encodeURIComponent(queue.name)}`, { method: 'PATCH', body });
      onChanged?.();
    } catch (caught) {
      setError(caught);
    }
  };
  const id = `capacity-${queue.name}`;
  return (
    <div class="controls">
      <button type="button" onClick={() => patch({ paused: !queue.paused })}>
        {queue.paused ? 'Resume' : 'Pause'} <span class="sr-only">{queue.name}</span>
      </button>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          void patch({ capacity: capacity.trim() === '' ? null : Number(capacity) });
        }}
      >
        <label for={id}>
          Capacity<span class="sr-only"> of {queue.name}</span>
        </label>
        <input
          id={id}
          type="number"
          min={1}
          step={1}
          inputMode="numeric"
          placeholder="none"
          value={capacity}
          onInput={(event) => setCapacity(event.currentTarget.value)}
        />
        <button type="submit">Set</button>
      </form>
      <ErrorNote error={error} />
    </div>
  );
}
