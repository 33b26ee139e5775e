/**
 * The sign-in token: read once from the login URL `docket serve` prints (`?token=…`), then kept
 * only in sessionStorage for this browser tab and sent as an `Authorization` header — never a
 * cookie, so there is no CSRF surface, and never left in the address bar or the history.
 */
const KEY = 'docket.token';

/** Moves a `?token=` from the address bar into sessionStorage and strips it from the URL. */
export function adoptTokenFromUrl(): void {
  const url = new URL(location.href);
  const token = url.searchParams.get('token');
  if (token === null) return;
  if (token.trim() !== '') sessionStorage.setItem(KEY, token.trim());
  url.searchParams.delete('token');
  history.replaceState(null, '', url.pathname + url.search + url.hash);
}

export function getToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token.trim());
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}
