/** The jobs list's filters, kept in the URL (the list page and its bulk actions share them). */

/** The URL parameters that filter the list; they are the API's own query parameters. */
export const FILTER_KEYS = ['status', 'queue', 'type', 'group', 'scheduler', 'tenant', 'q'] as const;

/** The filters set in the URL. */
export type Filters = Partial<Record<(typeof FILTER_KEYS)[number], string>>;

export function filtersOf(params: URLSearchParams): Filters {
  const filters: Filters = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    if (value) filters[key] = value;
  }
  return filters;
}
