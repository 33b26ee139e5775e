/** Job types and groups: their defaults and params schemas, as the API describes them. */
import { ErrorNote, Pre } from '../components/ui';
import { listOf, useApi } from '../data';
import { prettyJson } from '../format';
import { href } from '../router';
import type { JobGroup, JobType } from '../types';

/** Fields shown in the defaults list rather than on their own. */
const SHOWN_APART = new Set(['id', 'name', 'description', 'params_schema']);

export function TypesPage() {
  const types = useApi<unknown>('job-types', { pollMs: 0 });
  const groups = useApi<unknown>('job-groups', { pollMs: 0 });
  return (
    <section class="stack">
      <h1>Job types &amp; groups</h1>
      <section aria-labelledby="types-heading">
        <h2 id="types-heading">Job types</h2>
        <ErrorNote error={types.error} />
        {listOf<JobType>(types.data, 'job_types').map((type) => (
          <details key={type.id} class="card">
            <summary>
              <strong>{type.id}</strong> {type.description ? <span class="muted">— {type.description}</span> : null}
            </summary>
            <dl class="facts">
              {Object.entries(type)
                .filter(([key]) => !SHOWN_APART.has(key))
                .map(([key, value]) => (
                  <div key={key}>
                    <dt>{key}</dt>
                    <dd>
                      {typeof value === 'object' && value !== null ? (
                        <code>{JSON.stringify(value)}</code>
                      ) : (
                        String(value ?? '–')
                      )}
                    </dd>
                  </div>
                ))}
            </dl>
            <h3>Params schema</h3>
            <Pre label={`params schema of ${type.id}`} text={prettyJson(type.params_schema)} />
            <p>
              <a href={href('/submit', { type: type.id })}>Submit a {type.id} job</a> ·{' '}
              <a href={href('/jobs', { type: type.id })}>its jobs</a>
            </p>
          </details>
        ))}
      </section>
      <section aria-labelledby="groups-heading">
        <h2 id="groups-heading">Groups</h2>
        <ErrorNote error={groups.error} />
        {groups.data !== null && listOf<JobGroup>(groups.data, 'job_groups').length === 0 && (
          <p class="muted">No groups defined.</p>
        )}
        <ul class="plain">
          {listOf<JobGroup>(groups.data, 'job_groups').map((group) => (
            <li key={group.id} class="card">
              <strong>{group.id}</strong> {group.description ? <span class="muted">— {group.description}</span> : null}
              <dl class="facts">
                {Object.entries(group)
                  .filter(([key]) => !SHOWN_APART.has(key))
                  .map(([key, value]) => (
                    <div key={key}>
                      <dt>{key}</dt>
                      <dd>{Array.isArray(value) ? value.join(', ') || '–' : String(value ?? '–')}</dd>
                    </div>
                  ))}
              </dl>
              <a href={href('/jobs', { group: group.id })}>its jobs</a>
            </li>
          ))}
        </ul>
      </section>
    </section>
  );
}
