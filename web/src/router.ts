/**
 * Hash routing (`#/jobs?status=failed`): the page itself never changes path, so relative asset
 * and API paths hold under any `--base-path`, and every view — filters included — is a URL that
 * can be bookmarked and shared.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** `/jobs`, `/jobs/12`, … */
  path: string;
  params: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path = '/', search = ''] = hash.split('?', 2);
  return { path: path || '/', params: new URLSearchParams(search) };
}

/** The link target for a path and optional query parameters (empty values are left out). */
export function href(path: string, params?: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params ?? {})) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return `#${path}${text ? `?${text}` : ''}`;
}

export function navigate(target: string, replace = false): void {
  if (replace) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
  dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
