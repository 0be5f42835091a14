/** Hooks the pages share: live events, data that reloads when a matching event arrives. */
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { problemOf } from './api.ts';
import type { LiveFeed } from './live.ts';
import type { FactoryEvent, Role } from './types.ts';

export interface Session {
  readonly role: Role;
  readonly keyName: string | null;
  readonly live: LiveFeed;
  /** Opens the job drawer. */
  readonly openJob: (jobId: string) => void;
  readonly signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside the signed-in console');
  return session;
}

const rank: Record<Role, number> = { viewer: 0, developer: 1, admin: 2 };

/** Whether the signed-in key may act with the given role (a viewer sees no action buttons). */
export const useMay = (needed: Role): boolean => rank[useSession().role] >= rank[needed];

export function useLiveEvents(listener: (event: FactoryEvent) => void): void {
  const { live } = useSession();
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => live.listen((event) => latest.current(event)), [live]);
}

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: string | undefined;
  readonly reload: () => void;
}

/**
 * Loads data, and loads it again (at most once per `throttleMs`) whenever a live event
 * matching `affects` arrives, and when `deps` change. No manual reload anywhere.
 */
export function useLiveData<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  affects: (event: FactoryEvent) => boolean = () => true,
  throttleMs = 1000,
): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const generation = useRef(0);
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const lastRun = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    lastRun.current = Date.now();
    load().then(
      (value) => {
        if (mine !== generation.current) return;
        setData(value);
        setError(undefined);
      },
      (failure: Error) => {
        if (mine === generation.current) setError(failure.message);
      },
    );
  }, deps);
  useEffect(() => {
    run();
    return () => clearTimeout(pending.current);
  }, [run]);
  useLiveEvents((event) => {
    if (!affects(event) || pending.current) return;
    const wait = Math.max(0, lastRun.current + throttleMs - Date.now());
    pending.current = setTimeout(() => {
      pending.current = undefined;
      run();
    }, wait);
  });
  return { data, error, reload: run };
}

/** Re-renders every `ms` (ages, uptimes). */
export function useTick(ms: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/**
 * One action at a time (a button or a form): `busy` names the one under way, `notice` is what
 * it reports, `error` the API's refusal (with the fields a validation failure names).
 */
export function useAction<K = true>() {
  const [busy, setBusy] = useState<K | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const run = async (key: K, work: () => Promise<string | undefined>, after?: () => void) => {
    setBusy(key);
    setError(undefined);
    setNotice(undefined);
    try {
      setNotice(await work());
    } catch (failure) {
      setError(problemOf(failure));
    } finally {
      setBusy(undefined);
      after?.();
    }
  };
  return { busy, error, notice, run, setError };
}
