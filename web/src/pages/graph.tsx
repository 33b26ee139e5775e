/** A small dependency graph: what this job waits for → the job → what waits for it, as links. */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { StateBadge } from '../components/ui';
import { href } from '../router';
import type { Job, JobDetail } from '../types';

/** Beyond this many on a side, the rest are listed as plain links without their state. */
const SHOWN = 12;

function Node({ id, job }: { id: number; job?: Job | null }) {
  return (
    <li class="node">
      <a href={href(`/jobs/${id}`)}>#{id}</a> {job ? <span class="name">{job.name}</span> : null}{' '}
      {job ? <StateBadge job={job} /> : null}
    </li>
  );
}

export function DependencyGraph({ job }: { job: JobDetail }) {
  const upstream = job.depends_on ?? [];
  const downstream = job.dependents ?? [];
  const [known, setKnown] = useState<Map<number, Job | null>>(new Map());
  useEffect(() => {
    let stale = false;
    const ids = [...upstream.slice(0, SHOWN), ...downstream.slice(0, SHOWN)];
    void Promise.all(ids.map((id) => api<Job>(`jobs/${id}`).catch(() => null))).then((jobs) => {
      if (!stale) setKnown(new Map(ids.map((id, index) => [id, jobs[index] ?? null])));
    });
    return () => {
      stale = true;
    };
  }, [upstream.join(','), downstream.join(','), job.status]);
  if (upstream.length === 0 && downstream.length === 0)
    return <p class="muted">None: nothing waits for this job and it waits for nothing.</p>;
  return (
    <div class="graph">
      <section aria-label="Depends on">
        <h3>Depends on</h3>
        {upstream.length === 0 ? (
          <p class="muted">nothing</p>
        ) : (
          <ul>
            {upstream.map((id) => (
              <Node key={id} id={id} job={known.get(id)} />
            ))}
          </ul>
        )}
      </section>
      <div class="arrow" aria-hidden="true">
        →
      </div>
      <section aria-label="This job">
        <h3>This job</h3>
        <ul>
          <li class="node current">
            #{job.id} <StateBadge job={job} />
          </li>
        </ul>
      </section>
      <div class="arrow" aria-hidden="true">
        →
      </div>
      <section aria-label="Dependents">
        <h3>Dependents</h3>
        {downstream.length === 0 ? (
          <p class="muted">none</p>
        ) : (
          <ul>
            {downstream.map((id) => (
              <Node key={id} id={id} job={known.get(id)} />
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
