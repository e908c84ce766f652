// Maps ccxt's errors to the exchange port's outcomes (retryable, rejected, notFound, auth,
// unknown). Classified by the names along the error's class chain, so this module never loads
// ccxt (it costs ~0.4 s and ~130 MB: only the live adapter imports it), and it holds across ccxt
// versions that moved classes around the hierarchy.
import { ExchangeError, type ExchangeErrorKind } from './port.js';

interface Outcome {
  readonly kind: ExchangeErrorKind;
  readonly code: string;
}

/** Most specific class first: the first name found along the error's chain decides. */
const outcomes: ReadonlyArray<readonly [className: string, outcome: Outcome]> = [
  // Our own close() of the WebSocket clients (a reconnect or shutdown) ends pending watches with it.
  ['ExchangeClosedByUser', { kind: 'retryable', code: 'CLOSED' }],
  ['RateLimitExceeded', { kind: 'retryable', code: 'RATE_LIMIT' }],
  ['DDoSProtection', { kind: 'retryable', code: 'RATE_LIMIT' }],
  ['RequestTimeout', { kind: 'retryable', code: 'TIMEOUT' }],
  ['InvalidNonce', { kind: 'retryable', code: 'CLOCK_DRIFT' }],
  ['OnMaintenance', { kind: 'retryable', code: 'UNAVAILABLE' }],
  ['ExchangeNotAvailable', { kind: 'retryable', code: 'UNAVAILABLE' }],
  ['NetworkError', { kind: 'retryable', code: 'NETWORK' }],
  ['OrderNotFound', { kind: 'notFound', code: 'ORDER_NOT_FOUND' }],
  ['InsufficientFunds', { kind: 'rejected', code: 'INSUFFICIENT_FUNDS' }],
  ['DuplicateOrderId', { kind: 'rejected', code: 'DUPLICATE_CLIENT_ORDER_ID' }],
  ['InvalidOrder', { kind: 'rejected', code: 'INVALID_ORDER' }],
  ['AccountSuspended', { kind: 'auth', code: 'AUTH' }],
  ['PermissionDenied', { kind: 'auth', code: 'AUTH' }],
  ['AuthenticationError', { kind: 'auth', code: 'AUTH' }],
  ['BadSymbol', { kind: 'rejected', code: 'BAD_SYMBOL' }],
  ['MarketClosed', { kind: 'rejected', code: 'MARKET_CLOSED' }],
  ['OperationRejected', { kind: 'rejected', code: 'REJECTED' }],
  ['BadRequest', { kind: 'rejected', code: 'BAD_REQUEST' }],
  // A response we could not read: the request may have been carried out.
  ['BadResponse', { kind: 'unknown', code: 'BAD_RESPONSE' }],
  // "busy, try again" (e.g. BingX 100410).
  ['OperationFailed', { kind: 'retryable', code: 'BUSY' }],
  ['ExchangeError', { kind: 'unknown', code: 'EXCHANGE_ERROR' }],
];

/** Exchange error codes that ccxt files under a misleading class. */
const byExchangeCode: Readonly<Record<string, Readonly<Record<string, Outcome & { hint: string }>>>> = {
  bingx: {
    // ccxt files 100421 as BadSymbol; BingX answers it to a request whose timestamp is off.
    '100421': {
      kind: 'retryable',
      code: 'CLOCK_DRIFT',
      hint: "the exchange refused the request's timestamp: this machine's clock is probably off; sync it (NTP) and check the time zone",
    },
  },
};

function classNames(error: object): string[] {
  const names: string[] = [];
  for (let proto = Object.getPrototypeOf(error); proto && proto !== Error.prototype && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    names.push(proto.constructor.name);
  }
  return names;
}

/** The exchange's own error code, from ccxt's message ("bingx {"code":100421,"msg":...}"). */
function exchangeCode(message: string): string | undefined {
  return /"code"\s*:\s*"?(-?\d+)/.exec(message)?.[1];
}

/**
 * Removes credentials from a message: the given secrets wherever they appear, and signatures,
 * API keys and tokens in URLs, headers or JSON (ccxt puts the request URL into some messages).
 */
export function redactSecrets(message: string, secrets: readonly string[] = []): string {
  let redacted = message;
  for (const secret of secrets) if (secret.length >= 4) redacted = redacted.split(secret).join('***');
  return redacted.replace(/((?:signature|apikey|api_key|x-mbx-apikey|x-bx-apikey|secret|token|passphrase|listenkey)["']?\s*[=:]\s*["']?)[^&\s"',}]+/gi, '$1***');
}

/** The port's view of a ccxt error: kind, a stable code, and a message with no secret in it. */
export function fromCcxtError(error: unknown, exchangeId: string, secrets: readonly string[] = []): ExchangeError {
  if (error instanceof ExchangeError) return error;
  const raw = error instanceof Error ? error.message : String(error);
  const message = redactSecrets(raw, secrets);
  const special = byExchangeCode[exchangeId]?.[exchangeCode(raw) ?? ''];
  if (special) return new ExchangeError(special.kind, `${exchangeId}: ${special.hint} (${message})`, special.code);
  const names = typeof error === 'object' && error !== null ? classNames(error) : [];
  const outcome = outcomes.find(([name]) => names.includes(name))?.[1] ?? { kind: 'unknown', code: 'UNKNOWN' };
  return new ExchangeError(outcome.kind, message, outcome.code);
}
