/**
 * The operator console: sign in with an API key (kept in session storage), then nine pages,
 * all live over the WebSocket. The key's role decides which actions are offered; the API
 * enforces it regardless.
 */
import './styles.css';
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, forgetKey, keepKey, signedInKey, whenKeyRefused } from './api.ts';
import { type Session, SessionContext } from './hooks.ts';
import { LiveFeed, type LiveState } from './live.ts';
import { AlertsPage } from './pages/alerts.tsx';
import { DeadLettersPage } from './pages/dead-letters.tsx';
import { JobsPage } from './pages/jobs.tsx';
import { MetricsPage } from './pages/metrics.tsx';
import { OrdersPage } from './pages/orders.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { SchedulesPage } from './pages/schedules.tsx';
import { TimelinePage } from './pages/timeline.tsx';
import { WorkersPage } from './pages/workers.tsx';
import { JobDrawer } from './parts/job-drawer.tsx';
import type { Role } from './types.ts';

const pages = [
  { path: 'overview', title: 'Overview', Page: OverviewPage },
  { path: 'jobs', title: 'Jobs', Page: JobsPage },
  { path: 'orders', title: 'Orders', Page: OrdersPage },
  { path: 'timeline', title: 'Timeline', Page: TimelinePage },
  { path: 'workers', title: 'Workers', Page: WorkersPage },
  { path: 'dead-letters', title: 'Dead letters', Page: DeadLettersPage },
  { path: 'metrics', title: 'Metrics', Page: MetricsPage },
  { path: 'schedules', title: 'Schedules', Page: SchedulesPage },
  { path: 'alerts', title: 'Alerts', Page: AlertsPage },
] as const;

/** `#/jobs?queue=default` → the page and its parameters. */
function route(): { path: string; params: URLSearchParams } {
  const [path = '', search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return { path: path || 'overview', params: new URLSearchParams(search) };
}

interface SignedIn {
  readonly role: Role;
  readonly keyName: string | null;
  readonly live: LiveFeed;
}

function SignIn(props: { readonly onSignedIn: (session: SignedIn) => void; readonly notice?: string }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | undefined>(props.notice);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    keepKey(key.trim());
    try {
      props.onSignedIn(await connect());
    } catch (failure) {
      forgetKey();
      setError(
        failure instanceof ApiError && failure.status === 401
          ? 'The factory does not know that key (or it was revoked).'
          : `Could not sign in: ${(failure as Error).message}`,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Robot Factory</h1>
        <p>Sign in with an API key. `npm start` prints one per role.</p>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autocomplete="off"
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          required
        />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || !key.trim()}>
          Sign in
        </button>
      </form>
    </main>
  );
}

/** Checks the key by asking for a WebSocket ticket, which also names the key's role. */
async function connect(): Promise<SignedIn> {
  const ticket = await LiveFeed.ticket();
  const live = new LiveFeed();
  live.start(ticket);
  return { role: ticket.role, keyName: ticket.keyName, live };
}

function Console(props: { readonly signedIn: SignedIn; readonly onSignOut: () => void }) {
  const [where, setWhere] = useState(route);
  const [drawerJob, setDrawerJob] = useState<string | undefined>(undefined);
  const [liveState, setLiveState] = useState<LiveState>(props.signedIn.live.state);
  useEffect(() => {
    const onHash = () => setWhere(route());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    const { live } = props.signedIn;
    const stopWatching = live.watchState(setLiveState);
    // The feed connects on its own from sign-in: a change between the first render and this
    // effect (the socket subscribed meanwhile) would otherwise leave the header "connecting".
    setLiveState(live.state);
    return () => {
      stopWatching();
    };
  }, [props.signedIn.live]);
  const session = useMemo<Session>(
    () => ({ ...props.signedIn, openJob: setDrawerJob, signOut: props.onSignOut }),
    [props.signedIn, props.onSignOut],
  );
  const page = pages.find((p) => p.path === where.path) ?? pages[0];
  return (
    <SessionContext.Provider value={session}>
      <header class="top">
        <span class="brand">Robot Factory</span>
        <nav aria-label="Console pages">
          {pages.map((p) => (
            <a key={p.path} href={`#/${p.path}`} aria-current={p === page ? 'page' : undefined}>
              {p.title}
            </a>
          ))}
        </nav>
        <span class={`live ${liveState}`} title="WebSocket connection" data-live={liveState}>
          {liveState === 'live' ? '● live' : liveState === 'connecting' ? '◌ connecting' : '○ offline'}
        </span>
        <span class="who" data-role={session.role}>
          {session.keyName ?? 'key'} · {session.role}
        </span>
        <button type="button" class="link" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      <main class="page" aria-labelledby="page-title">
        <h1 id="page-title">{page.title}</h1>
        <page.Page params={where.params} />
      </main>
      {drawerJob && <JobDrawer jobId={drawerJob} onClose={() => setDrawerJob(undefined)} />}
    </SessionContext.Provider>
  );
}

function App() {
  const [signedIn, setSignedIn] = useState<SignedIn | undefined>(undefined);
  const [restoring, setRestoring] = useState(Boolean(signedInKey()));
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const signOut = useMemo(
    () => (why?: string) => {
      forgetKey();
      setSignedIn((current) => {
        current?.live.stop();
        return undefined;
      });
      setNotice(why);
    },
    [],
  );
  useEffect(() => {
    whenKeyRefused(() => signOut('The factory refused the key: sign in again.'));
    // A reload keeps the session: the key is still in session storage.
    if (signedInKey())
      connect()
        .then(setSignedIn, () => forgetKey())
        .finally(() => setRestoring(false));
  }, [signOut]);
  if (restoring) return <p class="loading">Signing in…</p>;
  if (!signedIn) return <SignIn onSignedIn={setSignedIn} notice={notice} />;
  return <Console signedIn={signedIn} onSignOut={() => signOut()} />;
}

render(<App />, document.getElementById('app') as HTMLElement);
