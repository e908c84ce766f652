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

export function storeErrorOf(error: unknown): StoreError {
  const { message, code, severity } = (typeof error === 'object' && error !== null ? error : {}) as { message?: unknown; code?: unknown; severity?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  const sqlState = typeof severity === 'string' && typeof code === 'string' ? code : undefined;
  const refused = sqlState !== undefined && REFUSED_CLASSES.has(sqlState.slice(0, 2));
  return { kind: refused ? 'rejected' : 'retryable', message: `store: ${text}`, ...(typeof code === 'string' ? { code } : {}) };
}
