/** Loading API documents into components, refreshed by live events (or a slow poll when offline). */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api';
import { useLiveEvents, useLiveStatus } from './live';

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * GETs `path` now and again whenever `path` changes, when one of `eventTypes` arrives (debounced
 * by `debounceMs`, so a burst of events costs one request), and every `pollMs` while the event
 * stream is down (or always, with `pollWhileLive`, for figures no event announces).
 */
export function useApi<T>(
  path: string | null,
  options: {
    eventTypes?: string[];
    onEvent?: (type: string, data: Record<string, unknown>) => boolean;
    pollMs?: number;
    pollWhileLive?: boolean;
    debounceMs?: number;
  } = {},
): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const generation = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const live = useLiveStatus();

  const load = useCallback(() => {
    if (path === null) return;
    const mine = ++generation.current;
    setState((previous) => ({ ...previous, loading: true }));
    api<T>(path)
      .then((data) => {
        if (mine === generation.current) setState({ data, error: null, loading: false });
      })
      .catch((error) => {
        if (mine === generation.current) setState((previous) => ({ ...previous, error, loading: false }));
      });
  }, [path]);

  useEffect(load, [load]);
  // A reload scheduled by an event fires later: it must load the path current *then* (a stale
  // closure would fetch the old path and, being newer, win over the current one).
  const latestLoad = useRef(load);
  latestLoad.current = load;

  const schedule = useCallback(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      latestLoad.current();
    }, options.debounceMs ?? 150);
  }, [options.debounceMs]);
  useEffect(() => () => (timer.current ? clearTimeout(timer.current) : undefined), []);

  useLiveEvents(
    (type, data) => {
      if (!options.eventTypes?.includes(type)) return;
      if (options.onEvent && !options.onEvent(type, data)) return;
      schedule();
    },
    [schedule, options.onEvent],
  );

  const pollMs = options.pollMs ?? 5000;
  useEffect(() => {
    if ((live === 'live' && !options.pollWhileLive) || pollMs <= 0) return;
    const poll = setInterval(load, pollMs);
    return () => clearInterval(poll);
  }, [live, load, pollMs, options.pollWhileLive]);

  return { ...state, reload: load };
}

/** A list document may be a bare array or `{<key>: [...]}`. */
export function listOf<T>(document: unknown, key: string): T[] {
  if (Array.isArray(document)) return document as T[];
  const value = (document as Record<string, unknown> | null)?.[key];
  return Array.isArray(value) ? (value as T[]) : [];
}
