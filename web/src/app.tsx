/** The shell: sign-in, the navigation, and which page the URL names. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, api, onUnauthorized } from './api';
import { clearToken, getToken } from './auth';
import { ErrorNote } from './components/ui';
import { startLive, stopLive, useLiveStatus } from './live';
import { JobPage } from './pages/job';
import { JobsPage } from './pages/jobs';
import { OverviewPage } from './pages/overview';
import { QueuesPage } from './pages/queues';
import { SignInPage } from './pages/sign-in';
import { SubmitPage } from './pages/submit';
import { TypesPage } from './pages/types';
import { useRoute } from './router';
import { SessionContext } from './session';
import type { Me } from './types';

const NAV: [string, string][] = [
  ['/', 'Overview'],
  ['/jobs', 'Jobs'],
  ['/queues', 'Queues'],
  ['/types', 'Types & groups'],
  ['/submit', 'Submit'],
];

export function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [token, setTokenState] = useState(getToken());
  const [problem, setProblem] = useState<unknown>(null);

  const signOut = useCallback((reason?: string) => {
    clearToken();
    stopLive();
    setMe(null);
    setTokenState(null);
    setProblem(reason ? new Error(reason) : null);
  }, []);

  useEffect(
    () => onUnauthorized(() => signOut('The token was refused (revoked or expired?): sign in again.')),
    [signOut],
  );

  useEffect(() => {
    if (!token) return;
    let stale = false;
    api<Me>('me')
      .then((who) => {
        if (stale) return;
        setMe(who);
        startLive();
      })
      .catch((error) => {
        if (stale) return;
        if (error instanceof ApiError && error.status === 401) return; // onUnauthorized signs out
        setProblem(error);
      });
    return () => {
      stale = true;
    };
  }, [token]);

  if (!token) return <SignInPage notice={problem} onSignedIn={() => setTokenState(getToken())} />;
  if (!me) return <main class="boot">{problem ? <ErrorNote error={problem} /> : <p>Signing in…</p>}</main>;
  return (
    <SessionContext.Provider value={me}>
      <Shell me={me} onSignOut={() => signOut()} />
    </SessionContext.Provider>
  );
}

function Shell({ me, onSignOut }: { me: Me; onSignOut: () => void }) {
  const route = useRoute();
  const live = useLiveStatus();
  const section = route.path === '/' ? '/' : `/${route.path.split('/')[1]}`;
  useEffect(() => {
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [route.path]);
  return (
    <>
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <a class="brand" href="#/">
          docket
        </a>
        <nav aria-label="Main">
          {NAV.map(([path, label]) => (
            <a key={path} href={`#${path}`} aria-current={section === path ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <div class="who">
          <span
            class={`live live-${live}`}
            title={live === 'live' ? 'Live updates connected' : 'Live updates not connected'}
          >
            {live === 'live' ? '● live' : live === 'connecting' ? '○ connecting' : '○ offline'}
          </span>
          <span>
            {me.user ?? 'anonymous'} · {me.tenant} · <span data-role={me.role}>{me.role}</span>
          </span>
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page path={route.path} params={route.params} />
      </main>
    </>
  );
}

function Page({ path, params }: { path: string; params: URLSearchParams }) {
  const job = /^\/jobs\/(\d+)$/.exec(path);
  if (job) return <JobPage id={Number(job[1])} key={job[1]} />;
  switch (path) {
    case '/':
      return <OverviewPage />;
    case '/jobs':
      return <JobsPage params={params} />;
    case '/queues':
      return <QueuesPage />;
    case '/types':
      return <TypesPage />;
    case '/submit':
      return <SubmitPage params={params} key={params.get('type') ?? ''} />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            No page here. <a href="#/">Go to the overview</a>.
          </p>
        </section>
      );
  }
}
