// One order's life, from the stored intent to a final state. One actor per order.
//
// Effects are named actors provided by the runtime (src/actors): `recordIntent` stores the
// intent before anything is sent (write ahead), `placeOrder` sends it, `lookupOrder` asks the
// exchange for it by client order id, `cancelOrder` cancels it. Fills arrive as FILL events from
// the own-order stream, already stored by the runtime, and are de-duplicated by trade id here.
// A final state's output is one ORDER.* event, which the runtime hands to the grid.
//
// Order actors are created by the runtime, not spawned as the grid's children: XState copies a
// machine's children object on every spawn and stop, which with a hundred resting orders cost
// more than everything else in a backtest together.
//
// Timers. XState's `after` is an entry action that schedules a delayed event; a persisted snapshot
// carries no pending timer and restoring one runs no entry action, so a restored order would wait
// forever. Each wait (submitTimeout in submitted; the pause in recordBackoff, lookupBackoff and
// cancelBackoff) is therefore an absolute deadline in context, set on entry (`armTimer`, on the
// clock of `orderClock`), and `after: { untilDeadline }` waits what is left of it. The runtime
// sends RESTORED to an order it restored as saved: a back-off state re-enters itself, which
// schedules the timer again for the time left without moving the deadline (an overdue one fires at
// once); every other state ignores it. A restored order in submitted is never resumed as saved (the
// create would be sent again): the runtime starts it over from its intent, looked up first.
import { assign, fromPromise, setup } from 'xstate';
import { fits } from '../domain/steps.js';
import type { Fill, OrderIntent } from '../domain/trading.js';

/** What the exchange answered about an order (the fields the machine needs). */
export interface OrderAck {
  readonly id: string;
  readonly status: 'open' | 'closed' | 'canceled' | 'rejected' | 'expired';
  readonly filled: number;
}

/** How an effect failed, as the exchange port classifies it. */
export interface OrderEffectError {
  readonly kind: 'retryable' | 'rejected' | 'notFound' | 'auth' | 'unknown';
  readonly message: string;
  readonly code?: string;
}

/** What storing an intent found: `new`, or `known` when it was stored before (by a run that may have sent it). */
export type IntentRecord = 'new' | 'known';

/** A rate-limited request waits this many times longer: hammering a rate limit prolongs it (or earns a ban). */
export const RATE_LIMIT_BACKOFF_FACTOR = 5;

/** The pause before a look-up or cancel is retried: longer after a rate limit (code RATE_LIMIT). */
export function lookupRetryDelay(context: Pick<OrderContext, 'lookupRetryMs' | 'lastErrorCode'>): number {
  return context.lookupRetryMs * (context.lastErrorCode === 'RATE_LIMIT' ? RATE_LIMIT_BACKOFF_FACTOR : 1);
}

/** The waits of an order: how long a create may go unanswered, and the pause before a retry (store, look-up, cancel). */
export type OrderTimer = 'submitTimeout' | 'lookupRetry';

/** How long `timer` lasts in this context (ms). */
export function timerDuration(context: Pick<OrderContext, 'submitTimeoutMs' | 'lookupRetryMs' | 'lastErrorCode'>, timer: OrderTimer): number {
  return timer === 'submitTimeout' ? context.submitTimeoutMs : lookupRetryDelay(context);
}

/**
 * The clock an order's deadlines are set and read by: `armTimer` stores `now() + duration` as the
 * absolute `deadline`, the `untilDeadline` delay waits what is left of it (never less than 0).
 * XState's actor `clock` option has no `now`, so the time is injected here. The machine uses
 * `Date.now`, the time of XState's default (real) timers; an actor on another clock (a
 * SimulatedClock in tests, a VirtualClock) is given that clock's time with
 * `orderMachine.provide(orderClock(() => clock.now()))`, so that deadlines and timers agree.
 */
export function orderClock(now: () => number) {
  return {
    actions: {
      // A restored actor re-enters its waiting state on RESTORED: the deadline it saved stands.
      armTimer: assign<OrderContext, OrderEvent, OrderTimer, OrderEvent, never>(({ context, event }, timer) =>
        event.type === 'RESTORED' && context.deadline !== undefined ? {} : { deadline: now() + timerDuration(context, timer) },
      ),
    },
    delays: {
      untilDeadline: ({ context }: { context: OrderContext }) => Math.max(0, (context.deadline ?? now()) - now()),
    },
  };
}
const systemClock = orderClock(Date.now);

export interface OrderInput {
  readonly intent: OrderIntent;
  /** How long a create may go unanswered before the order counts as in flight (ms). */
  readonly submitTimeoutMs?: number;
  /** Pause before retrying a look-up or a cancel that did not get through (ms). */
  readonly lookupRetryMs?: number;
}

export interface OrderContext {
  readonly intent: OrderIntent;
  readonly exchangeId: string | undefined;
  readonly filled: number;
  /** Sum of price * amount over fills (average price = cost / filled). */
  readonly cost: number;
  readonly fee: number;
  readonly tradeIds: readonly string[];
  readonly cancelRequested: boolean;
  readonly sendAttempts: number;
  readonly lastError: string | undefined;
  readonly lastErrorCode: string | undefined;
  readonly submitTimeoutMs: number;
  readonly lookupRetryMs: number;
  /**
   * When the current wait ends (ms since the epoch, on the clock of `orderClock`): set on entering
   * submitted, recordBackoff, lookupBackoff or cancelBackoff, and persisted with the snapshot, so a
   * restored order waits only what is left. Meaningless in the other states (the last wait's).
   */
  readonly deadline: number | undefined;
  /** Set on reaching a final state. */
  readonly outcome: 'filled' | 'canceled' | 'expired' | 'rejected' | undefined;
}

export type OrderEvent =
  | { type: 'FILL'; fill: Fill }
  | { type: 'CANCEL' }
  | { type: 'EXCHANGE_CANCELED' }
  | { type: 'EXCHANGE_EXPIRED' }
  /** Sent by the runtime to an actor it restored from a snapshot: a waiting state re-arms its timer (XState does not). */
  | { type: 'RESTORED' };

/** The output of an order actor that reached a final state: what the grid is told. */
export type OrderOutcomeEvent =
  | { type: 'ORDER.FILLED'; intent: OrderIntent; filled: number; averagePrice: number; fee: number }
  | { type: 'ORDER.CANCELED'; intent: OrderIntent; filled: number; averagePrice: number; fee: number }
  | { type: 'ORDER.EXPIRED'; intent: OrderIntent; filled: number; averagePrice: number; fee: number }
  | { type: 'ORDER.REJECTED'; intent: OrderIntent; reason: string; code: string | undefined };

const notProvided = (name: string) =>
  fromPromise<never, unknown>(async () => {
    throw new Error(`order machine: the "${name}" actor was not provided`);
  });

function asEffectError(error: unknown): OrderEffectError {
  if (typeof error === 'object' && error !== null && 'kind' in error && 'message' in error) return error as OrderEffectError;
  return { kind: 'unknown', message: error instanceof Error ? error.message : String(error) };
}

// A fill is taken in every live state: the last part completes the order; an earlier part moves a
// not-yet-resting order to partiallyFilled (the stream proves it reached the exchange), or is
// added in place where the order already counts its fills.
const takeFillToPartial = [
  { guard: 'completesOrder', target: 'filled', actions: 'addFill' },
  { guard: 'isNewFill', target: 'partiallyFilled', actions: 'addFill' },
] as const;
const takeFillInPlace = [
  { guard: 'completesOrder', target: 'filled', actions: 'addFill' },
  { guard: 'isNewFill', actions: 'addFill' },
] as const;

export const orderMachine = setup({
  types: {
    context: {} as OrderContext,
    events: {} as OrderEvent,
    input: {} as OrderInput,
    output: {} as OrderOutcomeEvent,
  },
  actors: {
    recordIntent: notProvided('recordIntent') as ReturnType<typeof fromPromise<IntentRecord, OrderIntent>>,
    placeOrder: notProvided('placeOrder') as ReturnType<typeof fromPromise<OrderAck, OrderIntent>>,
    lookupOrder: notProvided('lookupOrder') as ReturnType<typeof fromPromise<OrderAck | undefined, OrderIntent>>,
    cancelOrder: notProvided('cancelOrder') as ReturnType<typeof fromPromise<OrderAck, OrderIntent>>,
  },
  delays: {
    ...systemClock.delays,
  },
  guards: {
    isNewFill: ({ context, event }) => event.type === 'FILL' && !context.tradeIds.includes(event.fill.tradeId),
    completesOrder: ({ context, event }) =>
      event.type === 'FILL' && !context.tradeIds.includes(event.fill.tradeId) && fits(context.intent.amount, context.filled + event.fill.amount),
    cancelWasRequested: ({ context }) => context.cancelRequested,
    hasFills: ({ context }) => context.filled > 0,
    isRejection: (_, error: OrderEffectError) => error.kind === 'rejected' || error.kind === 'auth',
    isRetryable: (_, error: OrderEffectError) => error.kind === 'retryable' || error.kind === 'unknown',
    ackIsOpen: (_, ack: OrderAck | undefined) => ack?.status === 'open',
    ackIsClosed: (_, ack: OrderAck | undefined) => ack?.status === 'closed',
    ackIsCanceled: (_, ack: OrderAck | undefined) => ack?.status === 'canceled',
    ackIsExpired: (_, ack: OrderAck | undefined) => ack?.status === 'expired',
    ackIsRejected: (_, ack: OrderAck | undefined) => ack?.status === 'rejected',
  },
  actions: {
    ...systemClock.actions,
    addFill: assign(({ context, event }) => {
      if (event.type !== 'FILL') return {};
      const { fill } = event;
      return {
        filled: context.filled + fill.amount,
        cost: context.cost + fill.price * fill.amount,
        fee: context.fee + fill.fee,
        tradeIds: [...context.tradeIds, fill.tradeId],
      };
    }),
    rememberAck: assign((_, ack: OrderAck) => ({ exchangeId: ack.id })),
    rememberError: assign((_, error: OrderEffectError) => ({ lastError: `${error.kind}: ${error.message}`, lastErrorCode: error.code })),
    countSend: assign(({ context }) => ({ sendAttempts: context.sendAttempts + 1 })),
    requestCancel: assign({ cancelRequested: true }),
    forgetCancel: assign({ cancelRequested: false }),
    settle: assign((_, outcome: NonNullable<OrderContext['outcome']>) => ({ outcome })),
  },
}).createMachine({
  id: 'order',
  context: ({ input }) => ({
    intent: input.intent,
    exchangeId: undefined,
    filled: 0,
    cost: 0,
    fee: 0,
    tradeIds: [],
    cancelRequested: false,
    sendAttempts: 0,
    lastError: undefined,
    lastErrorCode: undefined,
    submitTimeoutMs: input.submitTimeoutMs ?? 10_000,
    lookupRetryMs: input.lookupRetryMs ?? 2_000,
    deadline: undefined,
    outcome: undefined,
  }),
  initial: 'recording',
  // A FILL for an order of ours is always taken, whatever the state: the exchange's word wins.
  states: {
    recording: {
      invoke: {
        src: 'recordIntent',
        input: ({ context }) => context.intent,
        onDone: [
          // The intent was stored already: an earlier run (before a crash) may have sent it. Look it up first (a cancel asked for meanwhile follows the look-up).
          { guard: ({ event }) => event.output === 'known', target: 'inFlight' },
          // A fill came while the intent was being stored: the order is on the exchange already, so look it up, never send it.
          { guard: 'hasFills', target: 'inFlight' },
          // A new intent, cancelled while it was stored: nothing was sent, so not sending is the cancel.
          { guard: 'cancelWasRequested', target: 'canceled' },
          // Intent is durable: now it may be sent.
          { target: 'submitted' },
        ],
        onError: [
          // The store refused the intent itself (an integrity error): never stored, so never sent.
          {
            guard: { type: 'isRejection', params: ({ event }) => asEffectError(event.error) },
            target: 'rejected',
            actions: { type: 'rememberError', params: ({ event }) => asEffectError(event.error) },
          },
          // The store is unreachable: nothing unrecorded may reach the exchange, so wait and store it again.
          { target: 'recordBackoff', actions: { type: 'rememberError', params: ({ event }) => asEffectError(event.error) } },
        ],
      },
      on: {
        // A restarted order's stored fills are replayed while its intent is stored again: the
        // exchange has it, so they count (dropping them would leave it waiting for them forever).
        FILL: takeFillInPlace,
        // Remembered: whether something may be out there is known once the intent is stored.
        CANCEL: { actions: 'requestCancel' },
      },
    },
    recordBackoff: {
      entry: { type: 'armTimer', params: 'lookupRetry' },
      after: {
        // Waited out the pause: store the intent again (the order keeps its level meanwhile).
        untilDeadline: { target: 'recording' },
      },
      on: {
        // The store is down while a restarted order's fills come: they count (see recording).
        FILL: takeFillInPlace,
        // Remembered until the intent is stored (a known intent may be out there).
        CANCEL: { actions: 'requestCancel' },
        // Restored from a snapshot: re-enter to re-arm the timer for what is left of the saved deadline.
        RESTORED: { target: 'recordBackoff', reenter: true },
      },
    },
    // No RESTORED edge: re-entering would send the create again. The runtime never restores an order
    // in submitted as saved; it starts it over from its intent (looked up by client id first).
    submitted: {
      entry: ['countSend', { type: 'armTimer', params: 'submitTimeout' }],
      invoke: {
        src: 'placeOrder',
        input: ({ context }) => context.intent,
        onDone: [
          // Accepted, but a cancel was asked for meanwhile: cancel it now.
          { guard: 'cancelWasRequested', target: 'pendingCancel', actions: { type: 'rememberAck', params: ({ event }) => event.output } },
          // Accepted and resting (a market order's fills come on the stream).
          { target: 'open', actions: { type: 'rememberAck', params: ({ event }) => event.output } },
        ],
        onError: [
          // The exchange said no (funds, filters, keys): final, nothing rests.
          {
            guard: { type: 'isRejection', params: ({ event }) => asEffectError(event.error) },
            target: 'rejected',
            actions: { type: 'rememberError', params: ({ event }) => asEffectError(event.error) },
          },
          // Ambiguous (timeout, 5xx, disconnect): it may have been placed. Look it up, never resend blindly.
          { target: 'inFlight', actions: { type: 'rememberError', params: ({ event }) => asEffectError(event.error) } },
        ],
      },
      after: {
        // No answer in time (submitTimeoutMs): the order may exist; treat it as in flight until looked up.
        untilDeadline: { target: 'inFlight' },
      },
      on: {
        // A fill can overtake the ack on the stream.
        FILL: takeFillToPartial,
        // Remembered and carried out once the ack is in.
        CANCEL: { actions: 'requestCancel' },
      },
    },
    inFlight: {
      invoke: {
        src: 'lookupOrder',
        input: ({ context }) => context.intent,
        onDone: [
          // It did reach the exchange and rests there.
          { guard: { type: 'ackIsOpen', params: ({ event }) => event.output }, target: 'open', actions: { type: 'rememberAck', params: ({ event }) => event.output! } },
          // It reached the exchange and already filled: the fills come on the stream / catch-up.
          { guard: { type: 'ackIsClosed', params: ({ event }) => event.output }, target: 'open', actions: { type: 'rememberAck', params: ({ event }) => event.output! } },
          // Canceled on the exchange side meanwhile.
          { guard: { type: 'ackIsCanceled', params: ({ event }) => event.output }, target: 'canceled' },
          { guard: { type: 'ackIsExpired', params: ({ event }) => event.output }, target: 'expired' },
          {
            guard: { type: 'ackIsRejected', params: ({ event }) => event.output },
            target: 'rejected',
            actions: { type: 'rememberError', params: { kind: 'rejected', message: 'the exchange reports the order as rejected' } },
          },
          // The exchange has never seen it, and we no longer want it: nothing to send, nothing to cancel.
          { guard: 'cancelWasRequested', target: 'canceled' },
          // The exchange has never seen it: sending it again cannot duplicate it.
          { target: 'submitted' },
        ],
        // The look-up itself failed: try again after a pause.
        onError: { target: 'lookupBackoff', actions: { type: 'rememberError', params: ({ event }) => asEffectError(event.error) } },
      },
      on: {
        // The stream proves it reached the exchange.
        FILL: takeFillToPartial,
        CANCEL: { actions: 'requestCancel' },
      },
    },
    lookupBackoff: {
      entry: { type: 'armTimer', params: 'lookupRetry' },
      after: {
        // Waited out the pause: look again.
        untilDeadline: { target: 'inFlight' },
      },
      on: {
        // The stream proves it reached the exchange.
        FILL: takeFillToPartial,
        CANCEL: { actions: 'requestCancel' },
        // Restored from a snapshot: re-enter to re-arm the timer for what is left of the saved deadline.
        RESTORED: { target: 'lookupBackoff', reenter: true },
      },
    },
    open: {
      always: {
        // A cancel asked for while in flight is carried out now.
        guard: 'cancelWasRequested',
        target: 'pendingCancel',
      },
      on: {
        // The last part: the order is done; some of it: partiallyFilled, still resting.
        FILL: takeFillToPartial,
        CANCEL: { target: 'pendingCancel' },
        // Canceled by someone else (the exchange, the user on the website).
        EXCHANGE_CANCELED: { target: 'canceled' },
        EXCHANGE_EXPIRED: { target: 'expired' },
      },
    },
    partiallyFilled: {
      always: {
        // A cancel asked for before the ack, overtaken by a partial fill, is carried out now.
        guard: 'cancelWasRequested',
        target: 'pendingCancel',
      },
      on: {
        FILL: takeFillInPlace,
        CANCEL: { target: 'pendingCancel' },
        EXCHANGE_CANCELED: { target: 'canceled' },
        EXCHANGE_EXPIRED: { target: 'expired' },
      },
    },
    pendingCancel: {
      invoke: {
        src: 'cancelOrder',
        input: ({ context }) => context.intent,
        // The exchange confirmed the cancel.
        onDone: { target: 'canceled' },
        onError: [
          // The cancel did not get through (timeout, busy): try again after a pause.
          {
            guard: { type: 'isRetryable', params: ({ event }) => asEffectError(event.error) },
            target: 'cancelBackoff',
            actions: { type: 'rememberError', params: ({ event }) => asEffectError(event.error) },
          },
          // The exchange refused the cancel (already filled, unknown): it is still ours; fills may follow.
          {
            guard: 'hasFills',
            target: 'partiallyFilled',
            actions: [{ type: 'rememberError', params: ({ event }) => asEffectError(event.error) }, 'forgetCancel'],
          },
          { target: 'open', actions: [{ type: 'rememberError', params: ({ event }) => asEffectError(event.error) }, 'forgetCancel'] },
        ],
      },
      on: {
        // A fill that raced the cancel still counts.
        FILL: takeFillInPlace,
        EXCHANGE_CANCELED: { target: 'canceled' },
        // It expired before the cancel got there: the same end for us.
        EXCHANGE_EXPIRED: { target: 'expired' },
      },
    },
    cancelBackoff: {
      entry: { type: 'armTimer', params: 'lookupRetry' },
      after: {
        // Waited out the pause: ask again.
        untilDeadline: { target: 'pendingCancel' },
      },
      on: {
        // A fill that completes the order ends it (no cancel follows); a part is kept.
        FILL: takeFillInPlace,
        // Ended on the exchange side during the pause: that end, no cancel follows.
        EXCHANGE_CANCELED: { target: 'canceled' },
        EXCHANGE_EXPIRED: { target: 'expired' },
        // Restored from a snapshot: re-enter to re-arm the timer for what is left of the saved deadline.
        RESTORED: { target: 'cancelBackoff', reenter: true },
      },
    },
    filled: { type: 'final', entry: { type: 'settle', params: 'filled' } },
    canceled: { type: 'final', entry: { type: 'settle', params: 'canceled' } },
    rejected: { type: 'final', entry: { type: 'settle', params: 'rejected' } },
    expired: { type: 'final', entry: { type: 'settle', params: 'expired' } },
  },
  output: ({ context }): OrderOutcomeEvent => {
    const { intent, filled, fee } = context;
    const averagePrice = filled > 0 ? context.cost / filled : 0;
    switch (context.outcome) {
      case 'filled':
        return { type: 'ORDER.FILLED', intent, filled, averagePrice, fee };
      case 'canceled':
        return { type: 'ORDER.CANCELED', intent, filled, averagePrice, fee };
      case 'expired':
        return { type: 'ORDER.EXPIRED', intent, filled, averagePrice, fee };
      default:
        return { type: 'ORDER.REJECTED', intent, reason: context.lastError ?? 'rejected by the exchange', code: context.lastErrorCode };
    }
  },
});
