// How a failed store call should be treated, in the order machine's terms: `rejected` when the
// database refused the data itself (an integrity or data error: retrying cannot help), else
// `retryable` (the connection is down, the server restarts, a deadlock): try again later.
// postgres.js gives server errors a SQLSTATE `code` and a `severity`; connection errors have a
// Node or postgres.js code (ECONNREFUSED, CONNECTION_CLOSED, ...) and no severity.

export interface StoreError {
  readonly kind: 'retryable' | 'rejected';
  readonly message: string;
  readonly code?: string;
}

/** SQLSTATE classes of errors in the data itself: 22 data exception, 23 integrity constraint violation, 42 syntax or access. */
const REFUSED_CLASSES = new Set(['22', '23', '42']);

/**
 * The pause before trying a write again while the store is unreachable (attempt 1, 2, ...): 0.5 s
 * doubling to 2 s, so that what waited (a fill, its counter-order, journal entries) follows within
 * 2 s of the database's return. An attempt against a database that is down costs nothing.
 */
export function storeRetryDelayMs(attempt: number): number {
  return Math.min(2_000, 500 * 2 ** (attempt - 1));
}

export function storeErrorOf(error: unknown): StoreError {
  const { message, code, severity } = (typeof error === 'object' && error !== null ? error : {}) as { message?: unknown; code?: unknown; severity?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  const sqlState = typeof severity === 'string' && typeof code === 'string' ? code : undefined;
  const refused = sqlState !== undefined && REFUSED_CLASSES.has(sqlState.slice(0, 2));
  return { kind: refused ? 'rejected' : 'retryable', message: `store: ${text}`, ...(typeof code === 'string' ? { code } : {}) };
}
