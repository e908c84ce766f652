import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock, type AnyEventObject, type SnapshotFrom } from 'xstate';
import { adjacencyMapToArray, getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import type { Fill, OrderIntent } from '../../src/domain/trading.js';
import {
  type IntentRecord,
  lookupRetryDelay,
  orderClock,
  orderMachine,
  RATE_LIMIT_BACKOFF_FACTOR,
  type OrderAck,
  type OrderEffectError,
  type OrderEvent,
  type OrderInput,
  type OrderOutcomeEvent,
} from '../../src/machines/order.machine.js';
import {
  afterEventType,
  definitionStates,
  definitionTransitions,
  flush,
  invokeEventType,
  transitionRecorder,
} from './model-coverage.js';

type Snapshot = SnapshotFrom<typeof orderMachine>;
type Src = 'recordIntent' | 'placeOrder' | 'lookupOrder' | 'cancelOrder';
type StateName = Snapshot['value'];

const INTENT: OrderIntent = {
  clientOrderId: 'bbtest_1b1',
  symbol: 'BTC/USDT',
  side: 'buy',
  type: 'limit',
  price: 100,
  amount: 1,
  level: 1,
};

/** Which effect each state runs (the invoke it must have live, and only that one). */
const INVOKED: Partial<Record<StateName, Src>> = {
  recording: 'recordIntent',
  submitted: 'placeOrder',
  inFlight: 'lookupOrder',
  pendingCancel: 'cancelOrder',
};

function fill(tradeId: string, amount: number, price = 100, fee = amount * price * 0.001): Fill {
  return {
    tradeId,
    orderId: 'x1',
    clientOrderId: INTENT.clientOrderId,
    symbol: INTENT.symbol,
    side: INTENT.side,
    price,
    amount,
    fee,
    takerOrMaker: 'maker',
    timestamp: 0,
  };
}

const ack = (status: OrderAck['status'], filled = 0): OrderAck => ({ id: 'x1', status, filled });
const effectError = (kind: OrderEffectError['kind'], message: string, code?: string): OrderEffectError => ({
  kind,
  message,
  ...(code === undefined ? {} : { code }),
});

// ---------------------------------------------------------------------------------------------
// Harness: the machine on a SimulatedClock with the four effects as controllable fakes
// ---------------------------------------------------------------------------------------------

interface Call {
  readonly src: Src;
  readonly input: OrderIntent;
  readonly signal: AbortSignal;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** Neither answered by the test nor stopped by the machine. */
  readonly live: () => boolean;
}

function harness(input: Partial<OrderInput> = {}, taken?: Set<string>) {
  const clock = new SimulatedClock();
  clock.set(0);
  const calls: Call[] = [];
  const fake = <T>(src: Src) =>
    fromPromise<T, OrderIntent>(
      ({ input: intent, signal }) =>
        new Promise<T>((resolve, reject) => {
          let settled = false;
          calls.push({
            src,
            input: intent,
            signal,
            resolve: (value) => ((settled = true), resolve(value as T)),
            reject: (error) => ((settled = true), reject(error)),
            live: () => !settled && !signal.aborted,
          });
        }),
    );
  const machine = orderMachine.provide({
    actors: {
      recordIntent: fake<IntentRecord>('recordIntent'),
      placeOrder: fake<OrderAck>('placeOrder'),
      lookupOrder: fake<OrderAck | undefined>('lookupOrder'),
      cancelOrder: fake<OrderAck>('cancelOrder'),
    },
    // Deadlines on the clock the timers run on.
    ...orderClock(() => clock.now()),
  });
  const recorder = transitionRecorder(taken);
  const actor = createActor(machine, { input: { intent: INTENT, ...input }, clock, inspect: recorder.inspect });
  recorder.attach(actor);
  actor.start();

  const pending = (src: Src): Call => {
    const live = calls.filter((c) => c.src === src && c.live());
    if (live.length !== 1) throw new Error(`expected one live ${src} call, found ${live.length} (state ${String(actor.getSnapshot().value)})`);
    return live[0]!;
  };
  const h = {
    actor,
    clock,
    calls,
    recorder,
    state: (): StateName => actor.getSnapshot().value,
    ctx: () => actor.getSnapshot().context,
    output: (): OrderOutcomeEvent | undefined => actor.getSnapshot().output,
    status: () => actor.getSnapshot().status,
    send: (event: OrderEvent) => actor.send(event),
    fill: (f: Fill) => actor.send({ type: 'FILL', fill: f }),
    callsOf: (src: Src) => calls.filter((c) => c.src === src),
    liveCalls: () => calls.filter((c) => c.live()),
    pending,
    async resolve(src: Src, value?: unknown) {
      pending(src).resolve(value);
      await flush();
    },
    async reject(src: Src, error: unknown) {
      pending(src).reject(error);
      await flush();
    },
    /** recordIntent stores it new: the order is sent (placeOrder pending). */
    async recorded() {
      await h.resolve('recordIntent', 'new');
    },
    /** recorded and acknowledged open. */
    async opened() {
      await h.recorded();
      await h.resolve('placeOrder', ack('open'));
    },
  };
  return h;
}

type Harness = ReturnType<typeof harness>;

// ---------------------------------------------------------------------------------------------
// Model-based: every state and every transition, each path replayed on the actor
// ---------------------------------------------------------------------------------------------

/** The fills the model may deliver: two small parts, a large part, and the whole order at once. */
const FILLS: Record<string, Fill> = {
  p1: fill('p1', 0.25, 99, 0.02),
  p2: fill('p2', 0.25, 101, 0.03),
  big: fill('big', 0.75, 100, 0.05),
  all: fill('all', 1, 100.5, 0.1),
};

const doneType = (state: string) => invokeEventType(orderMachine, `order.${state}`, 'done');
const errorType = (state: string) => invokeEventType(orderMachine, `order.${state}`, 'error');

/** Concrete model events, each with a label that says how the driver produces it on the live actor. */
const labelled: Array<[string, AnyEventObject]> = [
  ['CANCEL', { type: 'CANCEL' }],
  ['EXCHANGE_CANCELED', { type: 'EXCHANGE_CANCELED' }],
  ['EXCHANGE_EXPIRED', { type: 'EXCHANGE_EXPIRED' }],
  ...Object.entries(FILLS).map(([id, f]): [string, AnyEventObject] => [`FILL(${id})`, { type: 'FILL', fill: f }]),
  ['done(recordIntent)', { type: doneType('recording'), output: 'new' }],
  ['done(recordIntent:known)', { type: doneType('recording'), output: 'known' }],
  ['error(recordIntent:unknown)', { type: errorType('recording'), error: effectError('unknown', 'disk full') }],
  ['error(recordIntent:rejected)', { type: errorType('recording'), error: effectError('rejected', 'violates foreign key constraint') }],
  ['done(placeOrder:open)', { type: doneType('submitted'), output: ack('open') }],
  ...(['rejected', 'auth', 'retryable', 'notFound', 'unknown'] as const).map((kind): [string, AnyEventObject] => [
    `error(placeOrder:${kind})`,
    { type: errorType('submitted'), error: effectError(kind, `${kind} failure`, kind === 'rejected' ? '-2010' : undefined) },
  ]),
  ...(['open', 'closed', 'canceled', 'expired', 'rejected', undefined] as const).map((status): [string, AnyEventObject] => [
    `done(lookupOrder:${status ?? 'notFound'})`,
    { type: doneType('inFlight'), output: status === undefined ? undefined : ack(status) },
  ]),
  ['error(lookupOrder:retryable)', { type: errorType('inFlight'), error: effectError('retryable', 'timeout') }],
  ['done(cancelOrder)', { type: doneType('pendingCancel'), output: ack('canceled') }],
  // A cancel that did not get through (retryable, unknown) is tried again; one the exchange refused is forgotten.
  ...(['retryable', 'unknown', 'rejected', 'notFound', 'auth'] as const).map((kind): [string, AnyEventObject] => [
    `error(cancelOrder:${kind})`,
    { type: errorType('pendingCancel'), error: effectError(kind, `cancel ${kind}`, kind === 'notFound' ? '-2011' : undefined) },
  ]),
  // Every wait is the untilDeadline delay (the time left of context.deadline): one event type per
  // state (the state's id is part of it).
  ['after(submitTimeout)', { type: afterEventType('order.submitted', 'untilDeadline') }],
  ['after(lookupRetry:lookupBackoff)', { type: afterEventType('order.lookupBackoff', 'untilDeadline') }],
  ['after(lookupRetry:cancelBackoff)', { type: afterEventType('order.cancelBackoff', 'untilDeadline') }],
  ['after(lookupRetry:recordBackoff)', { type: afterEventType('order.recordBackoff', 'untilDeadline') }],
  // The runtime's word to an actor it restored from a snapshot (here sent to the live actor: it must change nothing but re-arm the same deadline).
  ['RESTORED', { type: 'RESTORED' }],
];
const labelOf = new Map<AnyEventObject, string>(labelled.map(([label, event]) => [event, label]));
const modelEvents = labelled.map(([, event]) => event) as unknown as OrderEvent[];
const eventLabel = (event: AnyEventObject) => labelOf.get(event) ?? event.type;

/** The abstract state: where it is, whether a cancel is pending, which fills it has (attempt counters and ids abstracted away). */
function stateKey(snapshot: Snapshot): string {
  const { cancelRequested, tradeIds } = snapshot.context;
  return `${String(snapshot.value)}${cancelRequested ? '+cancel' : ''}[${[...tradeIds].sort().join(',')}]`;
}

const edgeKey = (from: string, label: string, to: string) => `${from} --${label}--> ${to}`;

/** Executes one abstract event on the live actor the way the world would produce it. */
async function perform(h: Harness, event: AnyEventObject): Promise<void> {
  const label = eventLabel(event);
  if (label === 'after(submitTimeout)') return void h.clock.increment(h.ctx().submitTimeoutMs);
  if (label.startsWith('after(lookupRetry:')) return void h.clock.increment(lookupRetryDelay(h.ctx()));
  const effect = /^(done|error)\((\w+)/.exec(label);
  if (effect) {
    const src = effect[2] as Src;
    return effect[1] === 'done' ? h.resolve(src, (event as { output?: unknown }).output) : h.reject(src, (event as { error?: unknown }).error);
  }
  h.send(event as OrderEvent);
}

/** The output a final state must carry, computed from the path alone (not from the machine's context). */
function expectedOutput(value: StateName, tradeIds: readonly string[], path: readonly string[]): OrderOutcomeEvent | undefined {
  const fills = tradeIds.map((id) => FILLS[id]!);
  const filled = fills.reduce((sum, f) => sum + f.amount, 0);
  const cost = fills.reduce((sum, f) => sum + f.amount * f.price, 0);
  const fee = fills.reduce((sum, f) => sum + f.fee, 0);
  // Every ending but a rejection reports what filled (a canceled or expired order may have filled in part).
  const averagePrice = filled > 0 ? cost / filled : 0;
  switch (value) {
    case 'filled':
      return { type: 'ORDER.FILLED', intent: INTENT, filled, averagePrice, fee };
    case 'canceled':
      return { type: 'ORDER.CANCELED', intent: INTENT, filled, averagePrice, fee };
    case 'expired':
      return { type: 'ORDER.EXPIRED', intent: INTENT, filled, averagePrice, fee };
    case 'rejected': {
      // The reason is the exchange's own word when the look-up found the order rejected, else the
      // last effect error on the path (a retryable error met on the way is not the reason).
      const last = path.filter((label) => label.startsWith('error(') || label === 'done(lookupOrder:rejected)').at(-1);
      if (last === 'done(lookupOrder:rejected)') {
        return { type: 'ORDER.REJECTED', intent: INTENT, reason: 'rejected: the exchange reports the order as rejected', code: undefined };
      }
      const error = last === undefined ? undefined : (labelled.find(([label]) => label === last)![1] as unknown as { error: OrderEffectError }).error;
      if (!error) throw new Error(`no reason for a rejection on ${path.join(', ')}`);
      return { type: 'ORDER.REJECTED', intent: INTENT, reason: `${error.kind}: ${error.message}`, code: error.code };
    }
    default:
      return undefined;
  }
}

function exploreModel() {
  const traversal = {
    input: { intent: INTENT },
    events: modelEvents,
    filterEvents: (snapshot: Snapshot, event: OrderEvent) => snapshot.can(event),
    serializeState: (snapshot: Snapshot) => stateKey(snapshot),
    serializeEvent: (event: AnyEventObject) => eventLabel(event),
  };
  const adjacency = getAdjacencyMap(orderMachine, traversal);
  const modelEdges = adjacencyMapToArray(adjacency).map(({ state, event, nextState }) => ({
    from: stateKey(state),
    event: event as AnyEventObject,
    to: stateKey(nextState),
  }));
  const pathTo = new Map(
    getShortestPaths(orderMachine, traversal).map((path) => [
      stateKey(path.state),
      path.steps.map((step) => step.event as AnyEventObject).filter((event) => event.type !== 'xstate.init'),
    ]),
  );
  return { modelEdges, pathTo };
}

describe('order machine model', () => {
  it('the live actor takes exactly the edges of the model, reaching every state and every transition', async () => {
    const { modelEdges, pathTo } = exploreModel();
    const taken = new Set<string>();
    const observed = new Set<string>();
    const statesReached = new Set<string>();
    const outputsChecked = new Set<string>();
    for (const edge of modelEdges) {
      const prefix = pathTo.get(edge.from);
      if (!prefix) throw new Error(`no path to ${edge.from}`);
      const h = harness({}, taken);
      const path: string[] = [];
      let before = stateKey(h.actor.getSnapshot());
      statesReached.add(h.state());
      for (const event of [...prefix, edge.event]) {
        const stateBefore = h.state();
        const ctxBefore = h.ctx();
        const callsBefore = h.calls.length;
        await perform(h, event);
        const label = eventLabel(event);
        path.push(label);
        const where = path.join(', ');
        const after = stateKey(h.actor.getSnapshot());
        observed.add(edgeKey(before, label, after));
        statesReached.add(h.state());
        // Exactly the state's own effect is running, and nothing else (no effect survives its state).
        const live = h.liveCalls().map((c) => c.src);
        const expected = INVOKED[h.state()];
        expect(live, `live effects in ${after} after ${where}`).toEqual(expected ? [expected] : []);
        // An effect is started exactly when its state is entered, and only then: a retry (a look-up or a
        // cancel after its back-off) is one more call, a fill or an ignored event none.
        const started = h.calls.slice(callsBefore).map((c) => c.src);
        expect(started, `effects started by ${where}`).toEqual(h.state() !== stateBefore && expected ? [expected] : []);
        // A cancel that did not get through is tried again, the cancel kept; one the exchange refused is
        // forgotten, the order resting as it was.
        const cancelError = /^error\(cancelOrder:(\w+)\)$/.exec(label);
        if (cancelError) {
          const kind = cancelError[1]!;
          const retried = kind === 'retryable' || kind === 'unknown';
          expect(h.state(), where).toBe(retried ? 'cancelBackoff' : ctxBefore.tradeIds.length > 0 ? 'partiallyFilled' : 'open');
          expect(h.ctx().cancelRequested, where).toBe(retried ? ctxBefore.cancelRequested : false);
          expect(h.ctx().lastError, where).toBe(`${kind}: cancel ${kind}`);
        }
        if (label === 'after(lookupRetry:cancelBackoff)') expect(started, where).toEqual(['cancelOrder']);
        // RESTORED re-arms a back-off's timer for the time left: the deadline does not move.
        if (label === 'RESTORED') expect(h.ctx().deadline, where).toBe(ctxBefore.deadline);
        before = after;
      }
      expect(before, edgeKey(edge.from, eventLabel(edge.event), edge.to)).toBe(edge.to);
      // Each final state reports the outcome the grid needs, computed independently from the path.
      const output = expectedOutput(h.state(), h.ctx().tradeIds, path);
      if (output) {
        expect(h.status(), path.join(', ')).toBe('done');
        const actual = h.output();
        expect(actual?.type).toBe(output.type);
        if (output.type !== 'ORDER.REJECTED' && actual !== undefined && actual.type !== 'ORDER.REJECTED') {
          expect(Object.keys(actual).sort(), path.join(', ')).toEqual(Object.keys(output).sort());
          expect(actual.filled, path.join(', ')).toBeCloseTo(output.filled, 12);
          expect(actual.averagePrice, path.join(', ')).toBeCloseTo(output.averagePrice, 9);
          expect(actual.fee, path.join(', ')).toBeCloseTo(output.fee, 12);
          expect(actual.intent).toEqual(INTENT);
        } else {
          expect(actual, path.join(', ')).toEqual(output);
        }
        outputsChecked.add(`${output.type}${output.type !== 'ORDER.REJECTED' && output.filled > 0 ? '+fills' : ''}`);
      } else {
        expect(h.status()).toBe('active');
      }
      h.actor.stop();
    }

    expect([...observed].sort()).toEqual(modelEdges.map((e) => edgeKey(e.from, eventLabel(e.event), e.to)).sort());
    // Every outcome was checked, a canceled and an expired order with and without fills among them.
    expect([...outputsChecked].sort()).toEqual([
      'ORDER.CANCELED',
      'ORDER.CANCELED+fills',
      'ORDER.EXPIRED',
      'ORDER.EXPIRED+fills',
      'ORDER.FILLED+fills',
      'ORDER.REJECTED',
    ]);

    const allStates = definitionStates(orderMachine).map((id) => id.replace(/^order\./, ''));
    expect(allStates).toHaveLength(13);
    expect([...statesReached].sort()).toEqual([...allStates].sort());

    const definition = definitionTransitions(orderMachine);
    expect(new Set(definition).size, 'transition labels are unique').toBe(definition.length);
    // 61 edges, and RESTORED in the three back-off states.
    expect(definition).toHaveLength(64);
    expect([...taken].sort()).toEqual([...definition].sort());
  });
});

// ---------------------------------------------------------------------------------------------
// Targeted real-world edges
// ---------------------------------------------------------------------------------------------

describe('order machine: the happy path', () => {
  it('records, sends, rests, fills', async () => {
    const h = harness();
    expect(h.state()).toBe('recording');
    expect(h.pending('recordIntent').input).toEqual(INTENT);
    expect(h.callsOf('placeOrder')).toHaveLength(0); // write ahead: nothing is sent before the intent is stored
    await h.recorded();
    expect(h.state()).toBe('submitted');
    expect(h.ctx().sendAttempts).toBe(1);
    expect(h.pending('placeOrder').input).toEqual(INTENT);
    await h.resolve('placeOrder', ack('open'));
    expect(h.state()).toBe('open');
    expect(h.ctx().exchangeId).toBe('x1');
    h.fill(fill('t1', 1, 100, 0.1));
    expect(h.status()).toBe('done');
    expect(h.output()).toEqual({ type: 'ORDER.FILLED', intent: INTENT, filled: 1, averagePrice: 100, fee: 0.1 });
    expect(h.liveCalls()).toEqual([]);
  });

  it('uses 10 s / 2 s timers by default', () => {
    const h = harness();
    expect(h.ctx()).toMatchObject({ submitTimeoutMs: 10_000, lookupRetryMs: 2_000 });
  });
});

describe('order machine: cancels', () => {
  it('a fill after a cancel request still fills (ORDER.FILLED), and the cancel is abandoned', async () => {
    const h = harness();
    await h.opened();
    h.send({ type: 'CANCEL' });
    expect(h.state()).toBe('pendingCancel');
    const cancel = h.pending('cancelOrder');
    h.fill(fill('t1', 1, 100, 0.1));
    expect(h.state()).toBe('filled');
    expect(cancel.signal.aborted).toBe(true);
    expect(h.output()).toEqual({ type: 'ORDER.FILLED', intent: INTENT, filled: 1, averagePrice: 100, fee: 0.1 });
  });

  it('a partial fill during the cancel is kept and reported with the cancel', async () => {
    const h = harness();
    await h.opened();
    h.send({ type: 'CANCEL' });
    h.fill(fill('t1', 0.4));
    expect(h.state()).toBe('pendingCancel');
    await h.resolve('cancelOrder', ack('canceled', 0.4));
    expect(h.output()).toEqual({ type: 'ORDER.CANCELED', intent: INTENT, filled: 0.4, averagePrice: 100, fee: 0.04 });
  });

  it.each([
    ['rejected', 'Unknown order sent.', '-2011'],
    ['notFound', 'order bbtest_1b1 is filled, not open', 'ORDER_NOT_OPEN'],
    ['auth', 'invalid api key', undefined],
  ] as const)('a cancel the exchange refuses (%s) returns to open (fills may follow), is not retried, and can be asked again', async (kind, message, code) => {
    const h = harness({ lookupRetryMs: 1_000 });
    await h.opened();
    h.send({ type: 'CANCEL' });
    await h.reject('cancelOrder', effectError(kind, message, code));
    expect(h.state()).toBe('open');
    expect(h.ctx()).toMatchObject({ cancelRequested: false, lastError: `${kind}: ${message}`, lastErrorCode: code });
    expect(h.liveCalls()).toEqual([]);
    h.clock.increment(60_000);
    expect(h.callsOf('cancelOrder')).toHaveLength(1); // no back-off: the exchange said no
    h.send({ type: 'CANCEL' });
    expect(h.state()).toBe('pendingCancel');
    expect(h.callsOf('cancelOrder')).toHaveLength(2);
    await h.resolve('cancelOrder', ack('canceled'));
    expect(h.output()).toEqual({ type: 'ORDER.CANCELED', intent: INTENT, filled: 0, averagePrice: 0, fee: 0 });
  });

  it('a refused cancel of a partly filled order returns to partiallyFilled, the fills kept; fills complete it', async () => {
    const h = harness();
    await h.opened();
    h.fill(fill('t1', 0.4, 99, 0.04));
    h.send({ type: 'CANCEL' });
    expect(h.state()).toBe('pendingCancel');
    await h.reject('cancelOrder', effectError('notFound', 'order is filled, not open'));
    expect(h.state()).toBe('partiallyFilled');
    expect(h.ctx()).toMatchObject({ cancelRequested: false, lastError: 'notFound: order is filled, not open', filled: 0.4, tradeIds: ['t1'] });
    // The forgotten cancel does not loop back into pendingCancel (the eventless edge of partiallyFilled).
    expect(h.liveCalls()).toEqual([]);
    expect(h.callsOf('cancelOrder')).toHaveLength(1);
    h.fill(fill('t2', 0.6, 101, 0.06));
    const out = h.output();
    expect(out?.type).toBe('ORDER.FILLED');
    if (out?.type !== 'ORDER.FILLED') return;
    expect(out.filled).toBeCloseTo(1, 12);
    expect(out.averagePrice).toBeCloseTo(0.4 * 99 + 0.6 * 101, 9);
    expect(out.fee).toBeCloseTo(0.1, 12);
  });

  it('a refused cancel of a partly filled order can be asked again and reports the part with the cancel', async () => {
    const h = harness();
    await h.opened();
    h.fill(fill('t1', 0.25, 100, 0.025));
    h.send({ type: 'CANCEL' });
    await h.reject('cancelOrder', effectError('rejected', 'cancel refused'));
    expect(h.state()).toBe('partiallyFilled');
    h.send({ type: 'CANCEL' });
    expect(h.state()).toBe('pendingCancel');
    expect(h.callsOf('cancelOrder')).toHaveLength(2);
    await h.resolve('cancelOrder', ack('canceled', 0.25));
    expect(h.output()).toEqual({ type: 'ORDER.CANCELED', intent: INTENT, filled: 0.25, averagePrice: 100, fee: 0.025 });
  });

  it('an order that expires while its cancel is out ends expired, with its fills', async () => {
    const h = harness();
    await h.opened();
    h.fill(fill('t1', 0.5, 100, 0.05));
    h.send({ type: 'CANCEL' });
    const cancel = h.pending('cancelOrder');
    h.send({ type: 'EXCHANGE_EXPIRED' });
    expect(h.state()).toBe('expired');
    expect(h.status()).toBe('done');
    expect(cancel.signal.aborted).toBe(true);
    expect(h.output()).toEqual({ type: 'ORDER.EXPIRED', intent: INTENT, filled: 0.5, averagePrice: 100, fee: 0.05 });
  });

  it('an order canceled by the exchange while its cancel is out ends canceled', async () => {
    const h = harness();
    await h.opened();
    h.send({ type: 'CANCEL' });
    const cancel = h.pending('cancelOrder');
    h.send({ type: 'EXCHANGE_CANCELED' });
    expect(cancel.signal.aborted).toBe(true);
    expect(h.output()).toEqual({ type: 'ORDER.CANCELED', intent: INTENT, filled: 0, averagePrice: 0, fee: 0 });
  });

  it('a failed cancel whose order then fills reports the fill, and is not sent again', async () => {
    const h = harness();
    await h.opened();
    h.send({ type: 'CANCEL' });
    await h.reject('cancelOrder', new Error('order already filled')); // not classified: "unknown", so retried
    expect(h.state()).toBe('cancelBackoff');
    expect(h.ctx().lastError).toBe('unknown: order already filled');
    h.fill(fill('t1', 1));
    expect(h.output()?.type).toBe('ORDER.FILLED');
    h.clock.increment(60_000);
    expect(h.callsOf('cancelOrder')).toHaveLength(1);
  });

  it('cancel while still recording: a new intent is never sent; a known one is looked up, then cancelled', async () => {
    const h = harness();
    const record = h.pending('recordIntent');
    h.send({ type: 'CANCEL' });
    expect(h.state()).toBe('recording'); // the store decides: was it stored before (maybe sent)?
    record.resolve('new');
    await flush();
    h.clock.increment(60_000);
    expect(h.callsOf('placeOrder')).toHaveLength(0);
    expect(h.output()).toEqual({ type: 'ORDER.CANCELED', intent: INTENT, filled: 0, averagePrice: 0, fee: 0 });

    const known = harness();
    known.send({ type: 'CANCEL' });
    await known.resolve('recordIntent', 'known');
    expect(known.state()).toBe('inFlight');
    await known.resolve('lookupOrder', ack('open'));
    expect(known.state()).toBe('pendingCancel');
    expect(known.callsOf('placeOrder')).toHaveLength(0);
    expect(known.callsOf('cancelOrder')).toHaveLength(1);
  });

  it("a restarted order takes its stored fills while its intent is stored again: the whole fill ends it, a part is looked up, never sent", async () => {
    // A crash left the order filled on the exchange with its fill stored; the recovery replays the
    // fill while the restarted order is still recording (the fill never comes again).
    const whole = harness();
    whole.fill(fill('t1', 1, 100, 0.1));
    expect(whole.output()).toEqual({ type: 'ORDER.FILLED', intent: INTENT, filled: 1, averagePrice: 100, fee: 0.1 });
    expect(whole.liveCalls()).toEqual([]);

    const part = harness();
    part.fill(fill('t1', 0.25));
    expect(part.state()).toBe('recording');
    await part.resolve('recordIntent', 'known');
    expect(part.state()).toBe('inFlight');
    await part.resolve('lookupOrder', ack('open', 0.25));
    part.fill(fill('t1', 0.25)); // the same trade again (the stream): counted once
    part.fill(fill('t2', 0.75));
    expect(part.output()).toMatchObject({ type: 'ORDER.FILLED', filled: 1 });
    expect(part.callsOf('placeOrder')).toHaveLength(0);

    // Even a store that says "new" cannot make an order with a fill be sent: it is on the exchange.
    const proven = harness();
    proven.fill(fill('t1', 0.25));
    await proven.resolve('recordIntent', 'new');
    expect(proven.state()).toBe('inFlight');
    expect(proven.callsOf('placeOrder')).toHaveLength(0);
  });

  it('a fill while the store is down (recordBackoff) counts, and the order is looked up once the intent is stored', async () => {
    const h = harness();
    await h.reject('recordIntent', effectError('retryable', 'connection refused'));
    expect(h.state()).toBe('recordBackoff');
    h.fill(fill('t1', 0.5));
    expect(h.ctx().filled).toBe(0.5);
    h.clock.increment(h.ctx().lookupRetryMs);
    await h.resolve('recordIntent', 'known');
    expect(h.state()).toBe('inFlight');
    expect(h.callsOf('placeOrder')).toHaveLength(0);
  });

  it('a cancel asked for while the create is out is carried out once the ack is in', async () => {
    const h = harness();
    await h.recorded();
    h.send({ type: 'CANCEL' });
    expect(h.state()).toBe('submitted');
    expect(h.callsOf('cancelOrder')).toHaveLength(0);
    await h.resolve('placeOrder', ack('open'));
    expect(h.state()).toBe('pendingCancel');
    expect(h.ctx().exchangeId).toBe('x1');
    await h.resolve('cancelOrder', ack('canceled'));
    expect(h.output()?.type).toBe('ORDER.CANCELED');
  });

  it('a cancel asked for while in flight is carried out once the look-up finds the order (eventless edge)', async () => {
    const h = harness({ submitTimeoutMs: 1_000 });
    await h.recorded();
    h.clock.increment(1_000);
    h.send({ type: 'CANCEL' });
    await h.resolve('lookupOrder', ack('open'));
    expect(h.state()).toBe('pendingCancel');
    expect(h.callsOf('cancelOrder')).toHaveLength(1);
  });

  it('EXCHANGE_CANCELED and EXCHANGE_EXPIRED end a resting order', async () => {
    const canceled = harness();
    await canceled.opened();
    canceled.fill(fill('t1', 0.5, 98, 0.049));
    canceled.fill(fill('t2', 0.25, 101, 0.025));
    canceled.send({ type: 'EXCHANGE_CANCELED' });
    const out = canceled.output();
    expect(out).toMatchObject({ type: 'ORDER.CANCELED', intent: INTENT, filled: 0.75 });
    if (out?.type !== 'ORDER.CANCELED') return;
    // The part that filled is reported in full: the grid books its base and its fee.
    expect(out.averagePrice).toBeCloseTo((0.5 * 98 + 0.25 * 101) / 0.75, 9);
    expect(out.fee).toBeCloseTo(0.074, 12);

    const expired = harness();
    await expired.opened();
    expired.send({ type: 'EXCHANGE_EXPIRED' });
    expect(expired.output()).toEqual({ type: 'ORDER.EXPIRED', intent: INTENT, filled: 0, averagePrice: 0, fee: 0 });

    const partlyExpired = harness();
    await partlyExpired.opened();
    partlyExpired.fill(fill('t1', 0.3, 102, 0.0306));
    partlyExpired.send({ type: 'EXCHANGE_EXPIRED' });
    expect(partlyExpired.output()).toEqual({ type: 'ORDER.EXPIRED', intent: INTENT, filled: 0.3, averagePrice: 102, fee: 0.0306 });
  });

  // Fixed: a cancel remembered before the ack used to be lost when a partial fill overtook the ack
  // (partiallyFilled had no eventless edge on cancelWasRequested), and a stopping grid waited forever.
  it('a cancel asked for before the ack is carried out even when a partial fill overtakes the ack', async () => {
    const h = harness();
    await h.recorded();
    h.send({ type: 'CANCEL' });
    const create = h.pending('placeOrder');
    h.fill(fill('t1', 0.3, 100, 0.03));
    expect(h.state()).toBe('pendingCancel');
    expect(create.signal.aborted).toBe(true);
    expect(h.pending('cancelOrder').input).toEqual(INTENT);
    await h.resolve('cancelOrder', ack('canceled', 0.3));
    expect(h.output()).toEqual({ type: 'ORDER.CANCELED', intent: INTENT, filled: 0.3, averagePrice: 100, fee: 0.03 });
    expect(h.callsOf('placeOrder')).toHaveLength(1);
  });

  it('a remembered cancel that the exchange refuses is forgotten, not retried at once: back to partiallyFilled (fills) or open (none)', async () => {
    // With fills: the remembered cancel took partiallyFilled's eventless edge; without forgetting it,
    // the refused cancel would take that edge again and send another cancel straight away.
    const part = harness();
    await part.recorded();
    part.send({ type: 'CANCEL' });
    part.fill(fill('t1', 0.3));
    expect(part.state()).toBe('pendingCancel');
    await part.reject('cancelOrder', effectError('rejected', 'cancel refused'));
    expect(part.state()).toBe('partiallyFilled');
    expect(part.ctx()).toMatchObject({ cancelRequested: false, lastError: 'rejected: cancel refused' });
    expect(part.callsOf('cancelOrder')).toHaveLength(1);
    expect(part.liveCalls()).toEqual([]);
    part.clock.increment(60_000);
    expect(part.callsOf('cancelOrder')).toHaveLength(1);

    // Without fills: the same through open's eventless edge.
    const none = harness();
    await none.recorded();
    none.send({ type: 'CANCEL' });
    await none.resolve('placeOrder', ack('open'));
    expect(none.state()).toBe('pendingCancel');
    await none.reject('cancelOrder', effectError('notFound', 'unknown order'));
    expect(none.state()).toBe('open');
    expect(none.ctx().cancelRequested).toBe(false);
    expect(none.callsOf('cancelOrder')).toHaveLength(1);
    expect(none.liveCalls()).toEqual([]);
    none.clock.increment(60_000);
    expect(none.callsOf('cancelOrder')).toHaveLength(1);
  });

  it('a cancel asked for while in flight or backing off is carried out when a partial fill proves the order', async () => {
    const inFlight = harness();
    await inFlight.recorded();
    await inFlight.reject('placeOrder', effectError('retryable', 'ETIMEDOUT'));
    inFlight.send({ type: 'CANCEL' });
    inFlight.fill(fill('t1', 0.5));
    expect(inFlight.state()).toBe('pendingCancel');
    expect(inFlight.liveCalls().map((c) => c.src)).toEqual(['cancelOrder']);

    const backoff = harness();
    await backoff.recorded();
    await backoff.reject('placeOrder', effectError('retryable', 'ETIMEDOUT'));
    await backoff.reject('lookupOrder', effectError('retryable', 'timeout'));
    backoff.send({ type: 'CANCEL' });
    backoff.fill(fill('t1', 0.5));
    expect(backoff.state()).toBe('pendingCancel');
    backoff.clock.increment(60_000);
    expect(backoff.callsOf('lookupOrder')).toHaveLength(1);
    expect(backoff.liveCalls().map((c) => c.src)).toEqual(['cancelOrder']);
  });

  // Fixed: a look-up that found nothing used to resend an order that was meant to be canceled.
  it('a cancel asked for while in flight is not resent when the look-up finds nothing', async () => {
    const h = harness({ submitTimeoutMs: 1_000 });
    await h.recorded();
    h.clock.increment(1_000);
    h.send({ type: 'CANCEL' });
    await h.resolve('lookupOrder', undefined);
    expect(h.state()).toBe('canceled');
    expect(h.callsOf('placeOrder')).toHaveLength(1);
    expect(h.callsOf('cancelOrder')).toHaveLength(0);
    expect(h.output()).toEqual({ type: 'ORDER.CANCELED', intent: INTENT, filled: 0, averagePrice: 0, fee: 0 });
    h.clock.increment(60_000);
    expect(h.liveCalls()).toEqual([]);
  });

  it('a cancel asked for while backing off is not resent either when the next look-up finds nothing', async () => {
    const h = harness({ lookupRetryMs: 1_000 });
    await h.recorded();
    await h.reject('placeOrder', effectError('retryable', 'ETIMEDOUT'));
    await h.reject('lookupOrder', effectError('retryable', 'timeout'));
    h.send({ type: 'CANCEL' });
    expect(h.state()).toBe('lookupBackoff');
    h.clock.increment(1_000);
    await h.resolve('lookupOrder', undefined);
    expect(h.output()).toMatchObject({ type: 'ORDER.CANCELED', filled: 0 });
    expect(h.callsOf('placeOrder')).toHaveLength(1);
  });

  it('a cancel asked for while in flight still ends as the exchange says when the look-up finds the order over', async () => {
    for (const [status, type] of [
      ['canceled', 'ORDER.CANCELED'],
      ['expired', 'ORDER.EXPIRED'],
      ['rejected', 'ORDER.REJECTED'],
    ] as const) {
      const h = harness({ submitTimeoutMs: 1 });
      await h.recorded();
      h.clock.increment(1);
      h.send({ type: 'CANCEL' });
      await h.resolve('lookupOrder', ack(status));
      expect(h.output()?.type, status).toBe(type);
      expect(h.callsOf('cancelOrder')).toHaveLength(0);
    }
  });
});

describe('order machine: in flight', () => {
  it('a timeout leaves the order in flight until it is looked up; the late answer to the create is ignored', async () => {
    const h = harness({ submitTimeoutMs: 5_000 });
    await h.recorded();
    const create = h.pending('placeOrder');
    h.clock.increment(4_999);
    expect(h.state()).toBe('submitted');
    expect(h.callsOf('lookupOrder')).toHaveLength(0);
    h.clock.increment(1);
    expect(h.state()).toBe('inFlight');
    expect(create.signal.aborted).toBe(true);
    expect(h.pending('lookupOrder').input).toEqual(INTENT);
    create.resolve(ack('open'));
    await flush();
    expect(h.state()).toBe('inFlight'); // only the look-up decides now
  });

  it('a look-up that finds nothing resends exactly once', async () => {
    const h = harness({ submitTimeoutMs: 5_000 });
    await h.recorded();
    h.clock.increment(5_000);
    await h.resolve('lookupOrder', undefined);
    expect(h.state()).toBe('submitted');
    expect(h.callsOf('placeOrder')).toHaveLength(2);
    expect(h.ctx().sendAttempts).toBe(2);
    expect(h.callsOf('placeOrder')[1]!.input.clientOrderId).toBe(INTENT.clientOrderId); // same id: the exchange de-duplicates
    await h.resolve('placeOrder', ack('open'));
    expect(h.state()).toBe('open');
    h.clock.increment(60_000);
    expect(h.callsOf('placeOrder')).toHaveLength(2);
    expect(h.callsOf('lookupOrder')).toHaveLength(1);
  });

  it('a look-up that finds it open does NOT resend', async () => {
    const h = harness({ submitTimeoutMs: 5_000 });
    await h.recorded();
    h.clock.increment(5_000);
    await h.resolve('lookupOrder', { id: 'x9', status: 'open', filled: 0 });
    expect(h.state()).toBe('open');
    expect(h.ctx().exchangeId).toBe('x9');
    h.clock.increment(60_000);
    expect(h.callsOf('placeOrder')).toHaveLength(1);
    expect(h.ctx().sendAttempts).toBe(1);
  });

  it('a look-up that finds it closed waits for its fills', async () => {
    const h = harness({ submitTimeoutMs: 5_000 });
    await h.recorded();
    h.clock.increment(5_000);
    await h.resolve('lookupOrder', ack('closed', 1));
    expect(h.state()).toBe('open');
    expect(h.callsOf('placeOrder')).toHaveLength(1);
    h.fill(fill('t1', 1));
    expect(h.output()?.type).toBe('ORDER.FILLED');
  });

  it('an ambiguous create error is looked up, never resent blindly', async () => {
    const h = harness();
    await h.recorded();
    await h.reject('placeOrder', effectError('retryable', 'ETIMEDOUT'));
    expect(h.state()).toBe('inFlight');
    expect(h.ctx().lastError).toBe('retryable: ETIMEDOUT');
    expect(h.callsOf('placeOrder')).toHaveLength(1);
    expect(h.callsOf('lookupOrder')).toHaveLength(1);
  });

  it('a failed look-up is retried after lookupRetryMs, as often as needed', async () => {
    const h = harness({ lookupRetryMs: 3_000 });
    await h.recorded();
    await h.reject('placeOrder', effectError('retryable', 'ETIMEDOUT'));
    for (let i = 1; i <= 3; i++) {
      await h.reject('lookupOrder', effectError('retryable', `lookup ${i}`));
      expect(h.state()).toBe('lookupBackoff');
      expect(h.ctx().lastError).toBe(`retryable: lookup ${i}`);
      h.clock.increment(2_999);
      expect(h.callsOf('lookupOrder')).toHaveLength(i);
      h.clock.increment(1);
      expect(h.state()).toBe('inFlight');
      expect(h.callsOf('lookupOrder')).toHaveLength(i + 1);
    }
    expect(h.callsOf('placeOrder')).toHaveLength(1);
  });

  it('an intent stored before (a run that may have sent it crashed) is looked up before anything is sent', async () => {
    const found = harness();
    await found.resolve('recordIntent', 'known');
    expect(found.state()).toBe('inFlight');
    expect(found.callsOf('placeOrder')).toHaveLength(0);
    await found.resolve('lookupOrder', ack('open'));
    expect(found.state()).toBe('open');
    expect(found.callsOf('placeOrder')).toHaveLength(0); // it was sent: never twice

    const neverSent = harness();
    await neverSent.resolve('recordIntent', 'known');
    await neverSent.resolve('lookupOrder', undefined);
    expect(neverSent.state()).toBe('submitted'); // the exchange never saw it: sending cannot duplicate it
    expect(neverSent.callsOf('placeOrder')).toHaveLength(1);
  });

  it('a rate-limited look-up waits RATE_LIMIT_BACKOFF_FACTOR times longer', async () => {
    const h = harness({ lookupRetryMs: 1_000 });
    await h.recorded();
    await h.reject('placeOrder', effectError('retryable', 'ETIMEDOUT'));
    await h.reject('lookupOrder', effectError('retryable', 'Too Many Requests', 'RATE_LIMIT'));
    expect(h.state()).toBe('lookupBackoff');
    h.clock.increment(1_000 * RATE_LIMIT_BACKOFF_FACTOR - 1);
    expect(h.callsOf('lookupOrder')).toHaveLength(1);
    h.clock.increment(1);
    expect(h.callsOf('lookupOrder')).toHaveLength(2);
    // Any other failure: the plain pause again.
    await h.reject('lookupOrder', effectError('retryable', 'ETIMEDOUT'));
    h.clock.increment(1_000);
    expect(h.callsOf('lookupOrder')).toHaveLength(3);
  });

  it('a fill on the stream while in flight or backing off proves the order exists', async () => {
    const inFlight = harness();
    await inFlight.recorded();
    await inFlight.reject('placeOrder', effectError('retryable', 'ETIMEDOUT'));
    const lookup = inFlight.pending('lookupOrder');
    inFlight.fill(fill('t1', 0.5));
    expect(inFlight.state()).toBe('partiallyFilled');
    expect(lookup.signal.aborted).toBe(true);

    const backoff = harness();
    await backoff.recorded();
    await backoff.reject('placeOrder', effectError('retryable', 'ETIMEDOUT'));
    await backoff.reject('lookupOrder', effectError('retryable', 'timeout'));
    backoff.fill(fill('t1', 1));
    expect(backoff.output()?.type).toBe('ORDER.FILLED');
    backoff.clock.increment(60_000);
    expect(backoff.callsOf('lookupOrder')).toHaveLength(1);
  });

  it('a look-up that finds it canceled, expired or rejected ends it', async () => {
    for (const [status, type] of [
      ['canceled', 'ORDER.CANCELED'],
      ['expired', 'ORDER.EXPIRED'],
      ['rejected', 'ORDER.REJECTED'],
    ] as const) {
      const h = harness({ submitTimeoutMs: 1 });
      await h.recorded();
      h.clock.increment(1);
      await h.resolve('lookupOrder', ack(status));
      expect(h.output()?.type).toBe(type);
      if (status === 'rejected') {
        expect(h.output()).toEqual({ type: 'ORDER.REJECTED', intent: INTENT, reason: 'rejected: the exchange reports the order as rejected', code: undefined });
      } else {
        expect(h.output()).toEqual({ type, intent: INTENT, filled: 0, averagePrice: 0, fee: 0 });
      }
    }
  });

  it('a look-up that finds it rejected reports the exchange\'s word, not the retryable error met on the way', async () => {
    const h = harness();
    await h.recorded();
    await h.reject('placeOrder', effectError('retryable', 'ETIMEDOUT', '-1007'));
    expect(h.ctx()).toMatchObject({ lastError: 'retryable: ETIMEDOUT', lastErrorCode: '-1007' });
    await h.reject('lookupOrder', effectError('retryable', 'lookup timeout'));
    h.clock.increment(h.ctx().lookupRetryMs);
    await h.resolve('lookupOrder', ack('rejected'));
    expect(h.output()).toEqual({ type: 'ORDER.REJECTED', intent: INTENT, reason: 'rejected: the exchange reports the order as rejected', code: undefined });
  });
});

describe('order machine: rejections', () => {
  it('a rejected create is final, with the reason and the code in the output', async () => {
    const h = harness();
    await h.recorded();
    await h.reject('placeOrder', effectError('rejected', 'Account has insufficient balance for requested action.', '-2010'));
    expect(h.state()).toBe('rejected');
    expect(h.status()).toBe('done');
    expect(h.output()).toEqual({
      type: 'ORDER.REJECTED',
      intent: INTENT,
      reason: 'rejected: Account has insufficient balance for requested action.',
      code: '-2010',
    });
    h.clock.increment(60_000);
    expect(h.callsOf('placeOrder')).toHaveLength(1);
    expect(h.callsOf('lookupOrder')).toHaveLength(0);
  });

  it('an auth error on create is final too', async () => {
    const h = harness();
    await h.recorded();
    await h.reject('placeOrder', effectError('auth', 'invalid api key'));
    expect(h.output()).toEqual({ type: 'ORDER.REJECTED', intent: INTENT, reason: 'auth: invalid api key', code: undefined });
  });

  it('an intent the store cannot reach is stored again after a pause, never sent before', async () => {
    const h = harness({ lookupRetryMs: 1_000 });
    await h.reject('recordIntent', effectError('retryable', 'connect ECONNREFUSED 127.0.0.1:5432'));
    expect(h.state()).toBe('recordBackoff');
    h.clock.increment(999);
    expect(h.callsOf('recordIntent')).toHaveLength(1);
    h.clock.increment(1);
    expect(h.callsOf('recordIntent')).toHaveLength(2);
    expect(h.callsOf('placeOrder')).toHaveLength(0); // nothing unrecorded reaches the exchange
    await h.resolve('recordIntent', 'new');
    expect(h.callsOf('placeOrder')).toHaveLength(1);
  });

  it('an intent the store refuses (an integrity error) is never sent', async () => {
    const h = harness();
    await h.reject('recordIntent', effectError('rejected', 'violates foreign key constraint'));
    expect(h.output()).toEqual({ type: 'ORDER.REJECTED', intent: INTENT, reason: 'rejected: violates foreign key constraint', code: undefined });
    expect(h.callsOf('placeOrder')).toHaveLength(0);
  });

  it('the placeholder effects fail loudly until the runtime provides them (retried: they never succeed)', async () => {
    const actor = createActor(orderMachine, { input: { intent: INTENT } }).start();
    await flush();
    expect(actor.getSnapshot().value).toBe('recordBackoff');
    expect(actor.getSnapshot().context.lastError).toContain('"recordIntent" actor was not provided');
    actor.stop();
  });
});

describe('order machine: fills', () => {
  it('duplicate FILL events with the same tradeId are counted once', async () => {
    const h = harness();
    await h.opened();
    const part = fill('t1', 0.5, 100, 0.05);
    h.fill(part);
    h.fill(part);
    h.fill({ ...part }); // a replay: a different object, the same trade
    expect(h.state()).toBe('partiallyFilled');
    expect(h.ctx()).toMatchObject({ filled: 0.5, fee: 0.05, tradeIds: ['t1'] });
    h.fill(fill('t2', 0.5, 102, 0.051));
    expect(h.output()).toEqual({ type: 'ORDER.FILLED', intent: INTENT, filled: 1, averagePrice: 101, fee: 0.101 });
  });

  it('a duplicate of the completing fill cannot complete an order twice or overcount', async () => {
    const h = harness();
    await h.opened();
    h.fill(fill('t1', 0.6));
    h.fill(fill('t1', 0.6)); // 1.2 if counted twice: would complete
    expect(h.state()).toBe('partiallyFilled');
    expect(h.ctx().filled).toBeCloseTo(0.6, 12);
  });

  it('partial fills accumulate and the last one completes', async () => {
    const h = harness();
    await h.opened();
    const parts = [fill('a', 0.1, 100, 0.01), fill('b', 0.2, 101, 0.02), fill('c', 0.3, 99, 0.03), fill('d', 0.4, 100.5, 0.04)];
    for (const [i, part] of parts.entries()) {
      h.fill(part);
      expect(h.state()).toBe(i < parts.length - 1 ? 'partiallyFilled' : 'filled');
    }
    const out = h.output();
    expect(out?.type).toBe('ORDER.FILLED');
    if (out?.type !== 'ORDER.FILLED') return;
    expect(out.filled).toBeCloseTo(1, 12);
    expect(out.averagePrice).toBeCloseTo((0.1 * 100 + 0.2 * 101 + 0.3 * 99 + 0.4 * 100.5) / 1, 9);
    expect(out.fee).toBeCloseTo(0.1, 12);
  });

  it('completion tolerates floating-point noise (0.1 + 0.2 + 0.7)', async () => {
    const h = harness();
    await h.opened();
    h.fill(fill('a', 0.1));
    h.fill(fill('b', 0.2));
    h.fill(fill('c', 0.7 - 1e-13));
    expect(h.state()).toBe('filled');
  });

  it('a fill arriving before the ack fills the order; the late ack changes nothing', async () => {
    const h = harness();
    await h.recorded();
    const create = h.pending('placeOrder');
    h.fill(fill('t1', 1, 100, 0.1));
    expect(h.state()).toBe('filled');
    expect(create.signal.aborted).toBe(true);
    create.resolve(ack('closed', 1));
    await flush();
    expect(h.output()).toEqual({ type: 'ORDER.FILLED', intent: INTENT, filled: 1, averagePrice: 100, fee: 0.1 });
  });

  it('a partial fill arriving before the ack leaves the order resting', async () => {
    const h = harness({ submitTimeoutMs: 1_000 });
    await h.recorded();
    h.fill(fill('t1', 0.3));
    expect(h.state()).toBe('partiallyFilled');
    h.clock.increment(10_000); // no timeout once the stream has proven the order
    expect(h.state()).toBe('partiallyFilled');
    expect(h.callsOf('lookupOrder')).toHaveLength(0);
    h.fill(fill('t2', 0.7));
    expect(h.output()?.type).toBe('ORDER.FILLED');
  });

  it('a market order (no price) fills from the stream after its ack', async () => {
    const market: OrderIntent = { clientOrderId: 'bbtest_m1', symbol: 'BTC/USDT', side: 'buy', type: 'market', amount: 2, level: -1 };
    const clock = new SimulatedClock();
    const machine = orderMachine.provide({
      actors: {
        recordIntent: fromPromise<IntentRecord, OrderIntent>(async () => 'new'),
        placeOrder: fromPromise<OrderAck, OrderIntent>(async () => ack('closed', 2)),
        lookupOrder: fromPromise<OrderAck | undefined, OrderIntent>(async () => undefined),
        cancelOrder: fromPromise<OrderAck, OrderIntent>(async () => ack('canceled')),
      },
    });
    const actor = createActor(machine, { input: { intent: market }, clock }).start();
    await flush();
    expect(actor.getSnapshot().value).toBe('open');
    actor.send({ type: 'FILL', fill: { ...fill('m1', 1.5, 120, 0.18), clientOrderId: 'bbtest_m1' } });
    actor.send({ type: 'FILL', fill: { ...fill('m2', 0.5, 121, 0.0605), clientOrderId: 'bbtest_m1' } });
    expect(actor.getSnapshot().output).toMatchObject({ type: 'ORDER.FILLED', filled: 2, averagePrice: (1.5 * 120 + 0.5 * 121) / 2 });
  });
});

// Fixed: a cancel that failed for a retryable reason used to put the order back to open /
// partiallyFilled with the cancel forgotten, and nothing asked again: the grid emits order.cancel
// once, on entering stopping, so one timed-out cancel left a stopping grid waiting forever.
describe('order machine: cancel back-off', () => {
  it('a cancel that did not get through is sent again after lookupRetryMs, as often as needed, until confirmed', async () => {
    const h = harness({ lookupRetryMs: 3_000 });
    await h.opened();
    h.send({ type: 'CANCEL' });
    for (let i = 1; i <= 3; i++) {
      await h.reject('cancelOrder', effectError('retryable', `ETIMEDOUT ${i}`, '-1007'));
      expect(h.state()).toBe('cancelBackoff');
      expect(h.ctx()).toMatchObject({ lastError: `retryable: ETIMEDOUT ${i}`, lastErrorCode: '-1007' });
      expect(h.liveCalls()).toEqual([]); // nothing out during the pause
      h.clock.increment(2_999);
      expect(h.callsOf('cancelOrder')).toHaveLength(i);
      h.clock.increment(1);
      expect(h.state()).toBe('pendingCancel');
      expect(h.callsOf('cancelOrder')).toHaveLength(i + 1);
      expect(h.pending('cancelOrder').input).toEqual(INTENT);
    }
    await h.resolve('cancelOrder', ack('canceled'));
    expect(h.output()).toEqual({ type: 'ORDER.CANCELED', intent: INTENT, filled: 0, averagePrice: 0, fee: 0 });
    h.clock.increment(60_000);
    expect(h.callsOf('cancelOrder')).toHaveLength(4);
    expect(h.callsOf('placeOrder')).toHaveLength(1);
    expect(h.callsOf('lookupOrder')).toHaveLength(0);
  });

  it('waits the default 2 s before sending the cancel again', async () => {
    const h = harness();
    await h.opened();
    h.send({ type: 'CANCEL' });
    await h.reject('cancelOrder', effectError('retryable', 'busy'));
    h.clock.increment(1_999);
    expect(h.callsOf('cancelOrder')).toHaveLength(1);
    h.clock.increment(1);
    expect(h.callsOf('cancelOrder')).toHaveLength(2);
  });

  it('an unknown error (an unclassified exception too) is retried like a retryable one', async () => {
    for (const error of [effectError('unknown', 'socket hang up'), new Error('socket hang up')]) {
      const h = harness({ lookupRetryMs: 1_000 });
      await h.opened();
      h.send({ type: 'CANCEL' });
      await h.reject('cancelOrder', error);
      expect(h.state()).toBe('cancelBackoff');
      expect(h.ctx().lastError).toBe('unknown: socket hang up');
      h.clock.increment(1_000);
      expect(h.callsOf('cancelOrder')).toHaveLength(2);
    }
  });

  it('a stopping grid needs no second CANCEL: a retryable failure is tried again on its own', async () => {
    const h = harness({ lookupRetryMs: 1_000 });
    await h.opened();
    h.send({ type: 'CANCEL' });
    await h.reject('cancelOrder', effectError('retryable', 'ETIMEDOUT'));
    h.clock.increment(60_000);
    await flush();
    expect(h.callsOf('cancelOrder')).toHaveLength(2);
    await h.resolve('cancelOrder', ack('canceled'));
    expect(h.output()?.type).toBe('ORDER.CANCELED');
  });

  it('a CANCEL during the pause sends nothing at once and does not restart the pause', async () => {
    const h = harness({ lookupRetryMs: 1_000 });
    await h.opened();
    h.send({ type: 'CANCEL' });
    await h.reject('cancelOrder', effectError('retryable', 'ETIMEDOUT'));
    h.clock.increment(600);
    h.send({ type: 'CANCEL' });
    expect(h.state()).toBe('cancelBackoff');
    expect(h.callsOf('cancelOrder')).toHaveLength(1);
    h.clock.increment(400);
    expect(h.callsOf('cancelOrder')).toHaveLength(2);
  });

  it('a partial fill during the pause is kept (once), and the retried cancel reports it', async () => {
    const h = harness({ lookupRetryMs: 1_000 });
    await h.opened();
    h.send({ type: 'CANCEL' });
    await h.reject('cancelOrder', effectError('retryable', 'ETIMEDOUT'));
    h.fill(fill('t1', 0.4, 99, 0.04));
    h.fill(fill('t1', 0.4, 99, 0.04)); // a replay
    expect(h.state()).toBe('cancelBackoff');
    expect(h.ctx()).toMatchObject({ filled: 0.4, tradeIds: ['t1'] });
    expect(h.callsOf('cancelOrder')).toHaveLength(1); // a fill does not cut the pause short
    h.clock.increment(1_000);
    await h.resolve('cancelOrder', ack('canceled', 0.4));
    expect(h.output()).toEqual({ type: 'ORDER.CANCELED', intent: INTENT, filled: 0.4, averagePrice: 99, fee: 0.04 });
  });

  it('a fill that completes the order during the pause fills it; no cancel follows', async () => {
    const h = harness({ lookupRetryMs: 1_000 });
    await h.opened();
    h.fill(fill('t1', 0.5, 100, 0.05));
    h.send({ type: 'CANCEL' });
    await h.reject('cancelOrder', effectError('retryable', 'ETIMEDOUT'));
    expect(h.state()).toBe('cancelBackoff');
    h.fill(fill('t2', 0.5, 102, 0.051));
    expect(h.output()).toEqual({ type: 'ORDER.FILLED', intent: INTENT, filled: 1, averagePrice: 101, fee: 0.101 });
    h.clock.increment(60_000);
    expect(h.callsOf('cancelOrder')).toHaveLength(1);
    expect(h.liveCalls()).toEqual([]);
  });

  it('canceled or expired on the exchange side during the pause: that end, with its fills; no cancel follows', async () => {
    for (const [event, type] of [
      ['EXCHANGE_CANCELED', 'ORDER.CANCELED'],
      ['EXCHANGE_EXPIRED', 'ORDER.EXPIRED'],
    ] as const) {
      const h = harness({ lookupRetryMs: 1_000 });
      await h.opened();
      h.fill(fill('t1', 0.3, 102, 0.0306));
      h.send({ type: 'CANCEL' });
      await h.reject('cancelOrder', effectError('retryable', 'ETIMEDOUT'));
      h.send({ type: event });
      expect(h.state(), event).toBe(type === 'ORDER.CANCELED' ? 'canceled' : 'expired');
      expect(h.output(), event).toEqual({ type, intent: INTENT, filled: 0.3, averagePrice: 102, fee: 0.0306 });
      h.clock.increment(60_000);
      expect(h.callsOf('cancelOrder'), event).toHaveLength(1);
    }
  });

  it('a cancel remembered before the ack is kept through the back-off; a refusal after it forgets it (no loop)', async () => {
    const h = harness({ lookupRetryMs: 1_000 });
    await h.recorded();
    h.send({ type: 'CANCEL' });
    h.fill(fill('t1', 0.3)); // overtakes the ack: partiallyFilled, then its eventless edge to pendingCancel
    expect(h.state()).toBe('pendingCancel');
    await h.reject('cancelOrder', effectError('retryable', 'ETIMEDOUT'));
    expect(h.state()).toBe('cancelBackoff');
    expect(h.ctx().cancelRequested).toBe(true);
    h.clock.increment(1_000);
    expect(h.callsOf('cancelOrder')).toHaveLength(2);
    await h.reject('cancelOrder', effectError('notFound', 'unknown order', '-2011'));
    expect(h.state()).toBe('partiallyFilled');
    expect(h.ctx()).toMatchObject({ cancelRequested: false, lastError: 'notFound: unknown order', lastErrorCode: '-2011' });
    h.clock.increment(60_000);
    expect(h.callsOf('cancelOrder')).toHaveLength(2);
    expect(h.liveCalls()).toEqual([]);
  });

  it('a retried cancel that the exchange then refuses returns a fill-less order to open', async () => {
    const h = harness({ lookupRetryMs: 1_000 });
    await h.opened();
    h.send({ type: 'CANCEL' });
    await h.reject('cancelOrder', effectError('unknown', 'gateway error'));
    h.clock.increment(1_000);
    await h.reject('cancelOrder', effectError('rejected', 'cancel refused'));
    expect(h.state()).toBe('open');
    expect(h.ctx()).toMatchObject({ cancelRequested: false, lastError: 'rejected: cancel refused' });
    h.clock.increment(60_000);
    expect(h.callsOf('cancelOrder')).toHaveLength(2);
    h.fill(fill('t1', 1));
    expect(h.output()?.type).toBe('ORDER.FILLED');
  });
});

// ---------------------------------------------------------------------------------------------
// Timers: absolute deadlines in context, re-armed on restore
// ---------------------------------------------------------------------------------------------

type Backoff = 'recordBackoff' | 'lookupBackoff' | 'cancelBackoff';

/**
 * An order driven into a back-off at `enteredAt` (pause 1 s), persisted `persistedAfter` ms into
 * the pause, JSON round-tripped, and restored on a fresh clock at `restoredAt` (as a runtime
 * restart does); its effects answer at once and are counted.
 */
async function restoredInBackoff(where: Backoff, { enteredAt = 0, persistedAfter = 0, restoredAt = 60_000, tellRestored = true } = {}) {
  const h = harness({ lookupRetryMs: 1_000 });
  h.clock.set(enteredAt);
  if (where === 'recordBackoff') {
    await h.reject('recordIntent', effectError('unknown', 'connection refused'));
  } else {
    await h.recorded();
    if (where === 'cancelBackoff') {
      await h.resolve('placeOrder', ack('open'));
      h.send({ type: 'CANCEL' });
      await h.reject('cancelOrder', effectError('retryable', 'ETIMEDOUT'));
    } else {
      await h.reject('placeOrder', effectError('retryable', 'ETIMEDOUT'));
      await h.reject('lookupOrder', effectError('retryable', 'timeout'));
    }
  }
  expect(h.state()).toBe(where);
  expect(h.ctx().deadline).toBe(enteredAt + 1_000);
  h.clock.increment(persistedAfter);
  const persisted: unknown = JSON.parse(JSON.stringify(h.actor.getPersistedSnapshot()));
  h.actor.stop();

  const clock = new SimulatedClock();
  clock.set(restoredAt);
  const calls: Src[] = [];
  const counted = <T>(src: Src, value: T) => fromPromise<T, OrderIntent>(async () => (calls.push(src), value));
  const machine = orderMachine.provide({
    actors: {
      recordIntent: counted<IntentRecord>('recordIntent', 'new'),
      placeOrder: counted<OrderAck>('placeOrder', ack('open')),
      lookupOrder: counted<OrderAck | undefined>('lookupOrder', ack('open')),
      cancelOrder: counted<OrderAck>('cancelOrder', ack('canceled')),
    },
    ...orderClock(() => clock.now()),
  });
  const restored = createActor(machine, { input: { intent: INTENT }, clock, snapshot: persisted as Snapshot }).start();
  expect(restored.getSnapshot().value).toBe(where);
  if (tellRestored) restored.send({ type: 'RESTORED' });
  expect(restored.getSnapshot().value).toBe(where);
  expect(restored.getSnapshot().context.deadline).toBe(enteredAt + 1_000); // the saved deadline stands
  return { restored, clock, calls };
}

describe('order machine: timers are absolute deadlines, re-armed on restore', () => {
  // XState's `after` schedules its delayed event in an entry action; a persisted snapshot carries no
  // pending timer and a restore runs no entry action. Each wait is therefore a deadline in context,
  // and the runtime sends RESTORED to an order it restored, on which a back-off state re-enters
  // itself and schedules what is left of the saved deadline (an order restored in cancelBackoff used
  // to never send its cancel again, leaving a stopping grid waiting forever).

  it('each wait stores its absolute deadline on entry: submitTimeout, and the pause (longer after a rate limit)', async () => {
    const h = harness({ submitTimeoutMs: 5_000, lookupRetryMs: 1_000 });
    h.clock.set(1_000_000);
    await h.recorded();
    expect(h.state()).toBe('submitted');
    expect(h.ctx().deadline).toBe(1_005_000);
    h.clock.increment(5_000);
    expect(h.state()).toBe('inFlight');
    await h.reject('lookupOrder', effectError('retryable', '429', 'RATE_LIMIT'));
    expect(h.state()).toBe('lookupBackoff');
    expect(h.ctx().deadline).toBe(1_005_000 + RATE_LIMIT_BACKOFF_FACTOR * 1_000);
  });

  it('an order restored in cancelBackoff sends its cancel again', async () => {
    const { restored, clock, calls } = await restoredInBackoff('cancelBackoff');
    clock.increment(0); // the deadline passed while the bot was down: due at once
    await flush();
    expect(calls).toEqual(['cancelOrder']);
    expect(restored.getSnapshot().output?.type).toBe('ORDER.CANCELED');
  });

  it('an order restored in lookupBackoff looks it up again', async () => {
    const { restored, clock, calls } = await restoredInBackoff('lookupBackoff');
    clock.increment(0);
    await flush();
    expect(calls).toEqual(['lookupOrder']);
    expect(restored.getSnapshot().value).toBe('open');
  });

  it('an order restored in recordBackoff stores its intent again, then sends it', async () => {
    const { restored, clock, calls } = await restoredInBackoff('recordBackoff');
    clock.increment(0);
    await flush();
    await flush();
    expect(calls).toEqual(['recordIntent', 'placeOrder']);
    expect(restored.getSnapshot().value).toBe('open');
  });

  it('a restored order waits only what was left of its pause, on the restoring clock', async () => {
    for (const where of ['recordBackoff', 'lookupBackoff', 'cancelBackoff'] as const) {
      // Entered at 10 s, saved 600 ms into the 1 s pause, restored at 10.7 s: 300 ms are left.
      const { clock, calls } = await restoredInBackoff(where, { enteredAt: 10_000, persistedAfter: 600, restoredAt: 10_700 });
      clock.increment(299);
      await flush();
      expect(calls, where).toEqual([]);
      clock.increment(1);
      await flush();
      expect(calls[0], where).toBe(where === 'recordBackoff' ? 'recordIntent' : where === 'lookupBackoff' ? 'lookupOrder' : 'cancelOrder');
    }
  });

  it('without RESTORED a restored back-off never wakes: XState does not re-arm `after` timers', async () => {
    const { restored, clock, calls } = await restoredInBackoff('cancelBackoff', { tellRestored: false });
    clock.increment(3_600_000);
    await flush();
    expect(calls).toEqual([]);
    expect(restored.getSnapshot().value).toBe('cancelBackoff');
  });

  it('RESTORED on a live order neither restarts its pause nor doubles its timer; a state without a timer ignores it', async () => {
    const h = harness({ lookupRetryMs: 1_000 });
    await h.opened();
    h.send({ type: 'RESTORED' });
    expect(h.state()).toBe('open');
    h.send({ type: 'CANCEL' });
    await h.reject('cancelOrder', effectError('retryable', 'ETIMEDOUT'));
    h.clock.increment(600);
    h.send({ type: 'RESTORED' });
    h.send({ type: 'RESTORED' });
    h.clock.increment(399);
    expect(h.callsOf('cancelOrder')).toHaveLength(1);
    h.clock.increment(1);
    expect(h.callsOf('cancelOrder')).toHaveLength(2);
    await h.reject('cancelOrder', effectError('retryable', 'ETIMEDOUT'));
    h.clock.increment(999);
    expect(h.callsOf('cancelOrder')).toHaveLength(2); // one timer per pause, none left over
    h.clock.increment(1);
    expect(h.callsOf('cancelOrder')).toHaveLength(3);
  });
});
