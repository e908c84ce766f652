// The exchange connection statechart: one ccxt REST + WebSocket session (market data and own-order
// streams; the adapter polls REST while the stream is down). The machine only decides; the live
// adapter provides the `connect` actor and feeds stream events in.
//
// Time. Every event that needs the time carries it (`at`, ms since the epoch, stamped by the adapter
// on receipt). The alternative, a `clock` function passed in input, was rejected for two reasons:
// a transition that calls a clock is no longer a function of (snapshot, event), so replaying a
// recorded event log would not reproduce the context; and a function cannot live in a persisted
// snapshot (input is not re-applied on restore), so a restored actor would have lost its clock.
// Internal events have their time too: the `connect` actor's output and its ConnectError carry
// `at`, and a timer fires at its own deadline, which is already in context.
//
// Timers. Each pending timer is kept as an absolute deadline in context (`nextAttemptAt`,
// `staleDeadline`), because XState does not restore `after` timers from a persisted snapshot: the
// runtime re-arms them from these deadlines. The `after` delays below are the same durations,
// measured from the moment the timer is armed.
//
// Jitter. Backoff jitter is drawn from a mulberry32 PRNG whose state lives in context and is
// advanced by an assign, so the machine stays pure and a persisted snapshot replays identically.
import { assign, fromPromise, setup } from 'xstate';

// ---------------------------------------------------------------------------------------------
// Backoff (pure)
// ---------------------------------------------------------------------------------------------

export interface BackoffOptions {
  /** Nominal delay before the first retry, ms. */
  readonly baseMs: number;
  /** Growth of the nominal delay per further consecutive failure. */
  readonly factor: number;
  /** Cap on the nominal delay, ms (jitter is applied after the cap). */
  readonly maxMs: number;
  /** Jitter as a fraction of the nominal delay: the delay is spread over nominal * (1 ± jitter). */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, factor: 2, maxMs: 30_000, jitter: 0.2 };
export const DEFAULT_MAX_ATTEMPTS = 10;
export const DEFAULT_STALE_AFTER_MS = 30_000;

/**
 * Delay in whole ms before retry number `attempt` (1 = after the first failure), given a uniform
 * draw `u01` in [0, 1]. The nominal delay is baseMs * factor^(attempt - 1) capped at maxMs; the
 * jitter then scales it by 1 + jitter * (2 * u01 - 1). Jitter comes after the cap (as in gRPC's
 * connection backoff) so that clients which have all reached the cap still spread out: with the
 * defaults a capped delay lies in [24 s, 36 s].
 */
export function backoffDelay(attempt: number, opts: BackoffOptions, u01: number): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be an integer >= 1, got ${attempt}`);
  if (!(u01 >= 0 && u01 <= 1)) throw new RangeError(`u01 must be in [0, 1], got ${u01}`);
  const nominal = Math.min(opts.maxMs, opts.baseMs * opts.factor ** (attempt - 1));
  return Math.round(nominal * (1 + opts.jitter * (2 * u01 - 1)));
}

/**
 * One step of mulberry32: the next PRNG state (an int32, JSON-safe) and a uniform draw in [0, 1).
 * Identical in output to the usual closure form `t = a += 0x6D2B79F5; ...`.
 */
export function mulberry32(state: number): { state: number; u01: number } {
  const next = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(next ^ (next >>> 15), next | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return { state: next, u01: ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296 };
}

// ---------------------------------------------------------------------------------------------
// Connect failures
// ---------------------------------------------------------------------------------------------

/** `auth`: the exchange rejected the credentials, retrying cannot fix it. `transient`: anything worth retrying. */
export type ConnectErrorKind = 'auth' | 'transient';

/**
 * What the `connect` actor rejects with. `message` becomes `lastError` as is, so the adapter must
 * word it without secrets; `at` is when the attempt failed.
 */
export class ConnectError extends Error {
  override readonly name = 'ConnectError';
  constructor(
    readonly kind: ConnectErrorKind,
    reason: string,
    readonly at: number,
  ) {
    super(reason);
  }
}

export interface ConnectFailure {
  readonly kind: ConnectErrorKind;
  readonly reason: string;
  readonly at: number;
}

/**
 * Reads a `connect` rejection. Anything shaped like a ConnectError ({ kind, message, at }) is
 * trusted. Any other rejection is a transient failure recorded by its name only, since its message
 * is not the adapter's wording (a ccxt error may echo a signed request URL); its time falls back to
 * `fallbackAt`, the start of the attempt.
 */
export function classifyConnectError(error: unknown, fallbackAt: number): ConnectFailure {
  if (typeof error === 'object' && error !== null) {
    const { kind, message, at } = error as { kind?: unknown; message?: unknown; at?: unknown };
    if ((kind === 'auth' || kind === 'transient') && typeof message === 'string') {
      return { kind, reason: message, at: typeof at === 'number' && Number.isFinite(at) ? at : fallbackAt };
    }
  }
  const name = error instanceof Error ? error.name : typeof error;
  return { kind: 'transient', reason: `connect failed: ${name}`, at: fallbackAt };
}

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

export interface ExchangeConnectionInput {
  /** Seed of the jitter PRNG. Draw it once per bot (not a constant, or a fleet retries in step); it is persisted with the snapshot. */
  readonly seed: number;
  /** Consecutive failures before giving up; 0 retries forever. Default 10. */
  readonly maxAttempts?: number;
  /** A connected stream with no MESSAGE for this long is treated as lost. Default 30_000. */
  readonly staleAfterMs?: number;
  readonly backoff?: Partial<BackoffOptions>;
}

export interface ExchangeConnectionContext {
  readonly backoff: BackoffOptions;
  readonly maxAttempts: number;
  readonly staleAfterMs: number;
  /** mulberry32 state, advanced once per scheduled retry. */
  readonly rngState: number;
  /** Consecutive failures since the last successful connection (0 after a success, a DISCONNECT or a RETRY). */
  readonly attempt: number;
  /** Reason of the most recent failure, as the adapter worded it; kept until the next failure. */
  readonly lastError: string | null;
  /** connecting: when this attempt started. */
  readonly attemptStartedAt: number | null;
  /** connected: when the connection was established. */
  readonly connectedSince: number | null;
  /** connected: when the stream counts as stale unless a MESSAGE arrives first. */
  readonly staleDeadline: number | null;
  /** reconnecting: the jittered backoff being waited out, ms. */
  readonly retryDelayMs: number | null;
  /** reconnecting: when the next attempt starts (failure time + retryDelayMs). */
  readonly nextAttemptAt: number | null;
}

export type ExchangeConnectionEvent =
  | { readonly type: 'CONNECT'; readonly at: number }
  | { readonly type: 'DISCONNECT' }
  | { readonly type: 'CONNECTION_LOST'; readonly reason: string; readonly at: number }
  | { readonly type: 'MESSAGE'; readonly at: number }
  | { readonly type: 'AUTH_FAILED'; readonly reason: string }
  | { readonly type: 'RETRY'; readonly at: number };

/** Input of the `connect` actor. */
export interface ConnectInput {
  /** Consecutive failures before this attempt (0 on a first attempt). */
  readonly attempt: number;
}

/** Output of the `connect` actor: when the connection was established. */
export interface ConnectOutput {
  readonly at: number;
}

// ---------------------------------------------------------------------------------------------
// Timers, for the runtime
// ---------------------------------------------------------------------------------------------

/** The `after` events of this machine (XState names them `xstate.after.<delay>.<state id>`). */
export const TIMER_EVENTS = {
  retry: 'xstate.after.retryDelay.exchangeConnection.reconnecting',
  stale: 'xstate.after.staleAfter.exchangeConnection.connected',
} as const;

/**
 * The timer pending in a snapshot: the event to send and its absolute deadline, or null. XState
 * does not re-arm `after` timers of a restored snapshot; the runtime does, with this.
 */
export function pendingTimer(snapshot: {
  readonly value: unknown;
  readonly context: ExchangeConnectionContext;
}): { readonly event: { readonly type: (typeof TIMER_EVENTS)[keyof typeof TIMER_EVENTS] }; readonly at: number } | null {
  const { value, context } = snapshot;
  if (value === 'reconnecting' && context.nextAttemptAt !== null) return { event: { type: TIMER_EVENTS.retry }, at: context.nextAttemptAt };
  if (value === 'connected' && context.staleDeadline !== null) return { event: { type: TIMER_EVENTS.stale }, at: context.staleDeadline };
  return null;
}

// ---------------------------------------------------------------------------------------------
// Context updates
// ---------------------------------------------------------------------------------------------

/** The per-state fields, all cleared: each edge sets only those of the state it enters. */
const noPerStateFields = {
  attemptStartedAt: null,
  connectedSince: null,
  staleDeadline: null,
  retryDelayMs: null,
  nextAttemptAt: null,
} as const;

function positiveOr(value: number | undefined, fallback: number, key: string): number {
  const v = value ?? fallback;
  if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`${key} must be a finite number > 0, got ${v}`);
  return v;
}

function initialContext(input: ExchangeConnectionInput): ExchangeConnectionContext {
  const maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 0) throw new RangeError(`maxAttempts must be an integer >= 0, got ${maxAttempts}`);
  if (!Number.isInteger(input.seed)) throw new RangeError(`seed must be an integer, got ${input.seed}`);
  const b = { ...DEFAULT_BACKOFF, ...input.backoff };
  const jitter = b.jitter ?? DEFAULT_BACKOFF.jitter;
  if (!(jitter >= 0 && jitter < 1)) throw new RangeError(`backoff.jitter must be in [0, 1), got ${jitter}`);
  return {
    backoff: {
      baseMs: positiveOr(b.baseMs, DEFAULT_BACKOFF.baseMs, 'backoff.baseMs'),
      factor: positiveOr(b.factor, DEFAULT_BACKOFF.factor, 'backoff.factor'),
      maxMs: positiveOr(b.maxMs, DEFAULT_BACKOFF.maxMs, 'backoff.maxMs'),
      jitter,
    },
    maxAttempts,
    staleAfterMs: positiveOr(input.staleAfterMs, DEFAULT_STALE_AFTER_MS, 'staleAfterMs'),
    rngState: input.seed | 0,
    attempt: 0,
    lastError: null,
    ...noPerStateFields,
  };
}

/** `staleDeadline` is set whenever the machine is in `connected`; the stale timer fires at it. */
function staleAt(context: ExchangeConnectionContext): number {
  return context.staleDeadline ?? 0;
}

function connectFailure(context: ExchangeConnectionContext, error: unknown): ConnectFailure {
  return classifyConnectError(error, context.attemptStartedAt ?? 0);
}

// ---------------------------------------------------------------------------------------------
// Machine
// ---------------------------------------------------------------------------------------------

export const exchangeConnectionMachine = setup({
  types: {} as {
    context: ExchangeConnectionContext;
    events: ExchangeConnectionEvent;
    input: ExchangeConnectionInput;
  },
  actors: {
    // The live adapter provides the real one (ccxt loadMarkets + watch* subscriptions).
    connect: fromPromise<ConnectOutput, ConnectInput>(async () => {
      throw new Error('connect actor not provided');
    }),
  },
  delays: {
    retryDelay: ({ context }) => context.retryDelayMs ?? 0,
    staleAfter: ({ context }) => context.staleAfterMs,
  },
  guards: {
    isAuthError: (_, params: { error: unknown }) => classifyConnectError(params.error, 0).kind === 'auth',
    // Counting the failure being handled, the budget of consecutive failures is spent.
    retriesExhausted: ({ context }) => context.maxAttempts > 0 && context.attempt + 1 >= context.maxAttempts,
  },
  actions: {
    startAttempt: assign((_, params: { at: number }) => ({ ...noPerStateFields, attemptStartedAt: params.at })),
    forgetFailures: assign({ attempt: 0 }),
    markConnected: assign(({ context }, params: { at: number }) => ({
      ...noPerStateFields,
      attempt: 0,
      connectedSince: params.at,
      staleDeadline: params.at + context.staleAfterMs,
    })),
    recordMessage: assign(({ context }, params: { at: number }) => ({ staleDeadline: params.at + context.staleAfterMs })),
    scheduleRetry: assign(({ context }, params: { reason: string; at: number }) => {
      const attempt = context.attempt + 1;
      const draw = mulberry32(context.rngState);
      const retryDelayMs = backoffDelay(attempt, context.backoff, draw.u01);
      return {
        ...noPerStateFields,
        attempt,
        lastError: params.reason,
        rngState: draw.state,
        retryDelayMs,
        nextAttemptAt: params.at + retryDelayMs,
      };
    }),
    giveUp: assign(({ context }, params: { reason: string }) => ({
      ...noPerStateFields,
      attempt: context.attempt + 1,
      lastError: params.reason,
    })),
    closeSession: assign({ ...noPerStateFields, attempt: 0 }),
  },
}).createMachine({
  id: 'exchangeConnection',
  context: ({ input }) => initialContext(input),
  initial: 'disconnected',

  // Transition table. Events not listed for a state are ignored in it.
  on: {
    // any state --DISCONNECT--> disconnected: operator stop or shutdown wins everywhere; leaving
    // `connecting` cancels the connect actor, leaving the other states cancels their timer.
    DISCONNECT: { target: '.disconnected', actions: 'closeSession' },
  },
  states: {
    disconnected: {
      on: {
        // disconnected --CONNECT--> connecting: the operator (or the runtime at start-up) asks for a session.
        CONNECT: { target: 'connecting', actions: { type: 'startAttempt', params: ({ event }) => ({ at: event.at }) } },
      },
    },

    connecting: {
      invoke: {
        id: 'connect',
        src: 'connect',
        input: ({ context }) => ({ attempt: context.attempt }),
        // connecting --done--> connected: the session is up; the failure count starts over.
        onDone: { target: 'connected', actions: { type: 'markConnected', params: ({ event }) => ({ at: event.output.at }) } },
        onError: [
          // connecting --error(auth)--> failed: rejected credentials stay rejected, retrying only risks a ban.
          {
            guard: { type: 'isAuthError', params: ({ event }) => ({ error: event.error }) },
            target: 'failed',
            actions: { type: 'giveUp', params: ({ context, event }) => connectFailure(context, event.error) },
          },
          // connecting --error--> failed: that was the last of maxAttempts consecutive failures.
          {
            guard: 'retriesExhausted',
            target: 'failed',
            actions: { type: 'giveUp', params: ({ context, event }) => connectFailure(context, event.error) },
          },
          // connecting --error--> reconnecting: a transient failure; wait out the backoff.
          {
            target: 'reconnecting',
            actions: { type: 'scheduleRetry', params: ({ context, event }) => connectFailure(context, event.error) },
          },
        ],
      },
      on: {
        CONNECTION_LOST: [
          // connecting --CONNECTION_LOST--> failed: the socket dropped mid-handshake on the last allowed attempt.
          { guard: 'retriesExhausted', target: 'failed', actions: { type: 'giveUp', params: ({ event }) => ({ reason: event.reason }) } },
          // connecting --CONNECTION_LOST--> reconnecting: the socket dropped mid-handshake; counts as a failed attempt.
          { target: 'reconnecting', actions: { type: 'scheduleRetry', params: ({ event }) => ({ reason: event.reason, at: event.at }) } },
        ],
        // connecting --AUTH_FAILED--> failed: the adapter learnt from another channel that the key is rejected.
        AUTH_FAILED: { target: 'failed', actions: { type: 'giveUp', params: ({ event }) => ({ reason: event.reason }) } },
      },
    },

    connected: {
      after: {
        staleAfter: [
          // connected --stale--> failed: silence for staleAfterMs on the last allowed failure (only when maxAttempts is 1).
          { guard: 'retriesExhausted', target: 'failed', actions: { type: 'giveUp', params: { reason: 'stale' } } },
          // connected --stale--> reconnecting: no MESSAGE for staleAfterMs; a silently dead socket is a lost one.
          { target: 'reconnecting', actions: { type: 'scheduleRetry', params: ({ context }) => ({ reason: 'stale', at: staleAt(context) }) } },
        ],
      },
      on: {
        // connected --MESSAGE--> connected: the stream is alive; re-entering restarts the stale timer.
        MESSAGE: { target: 'connected', reenter: true, actions: { type: 'recordMessage', params: ({ event }) => ({ at: event.at }) } },
        CONNECTION_LOST: [
          // connected --CONNECTION_LOST--> failed: the drop is the last allowed failure (only when maxAttempts is 1).
          { guard: 'retriesExhausted', target: 'failed', actions: { type: 'giveUp', params: ({ event }) => ({ reason: event.reason }) } },
          // connected --CONNECTION_LOST--> reconnecting: the stream dropped; the adapter polls REST while we back off.
          { target: 'reconnecting', actions: { type: 'scheduleRetry', params: ({ event }) => ({ reason: event.reason, at: event.at }) } },
        ],
        // connected --AUTH_FAILED--> failed: the key was revoked or expired under a live session.
        AUTH_FAILED: { target: 'failed', actions: { type: 'giveUp', params: ({ event }) => ({ reason: event.reason }) } },
      },
    },

    reconnecting: {
      after: {
        // reconnecting --backoff elapsed--> connecting: nextAttemptAt is reached; try again (attempt is kept).
        retryDelay: { target: 'connecting', actions: { type: 'startAttempt', params: ({ context }) => ({ at: context.nextAttemptAt ?? 0 }) } },
      },
      on: {
        // reconnecting --AUTH_FAILED--> failed: the REST fallback was refused for the key; no point retrying the stream.
        AUTH_FAILED: { target: 'failed', actions: { type: 'giveUp', params: ({ event }) => ({ reason: event.reason }) } },
      },
    },

    failed: {
      on: {
        // failed --RETRY--> connecting: the operator fixed the cause (new key, network back); a fresh failure budget.
        RETRY: { target: 'connecting', actions: ['forgetFailures', { type: 'startAttempt', params: ({ event }) => ({ at: event.at }) }] },
      },
    },
  },
});
