// The runtime's restore of order actors (startGridRuntime with a snapshot): a back-off is restored
// as saved and its deadline re-armed (XState re-arms no `after` timer); an order whose request was
// under way is started over from its intent, looked up by client id before anything is sent.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { createActor, fromPromise, SimulatedClock, type Snapshot } from 'xstate';
import { startGridRuntime, type GridRuntime } from '../../src/actors/grid/grid-runtime.js';
import type { ExchangeOrder, ExchangePort } from '../../src/adapters/exchange/port.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import type { OrderIntent } from '../../src/domain/trading.js';
import { gridMachine } from '../../src/machines/grid.machine.js';
import { orderClock, orderMachine, type IntentRecord, type OrderAck } from '../../src/machines/order.machine.js';
import { flush } from '../machines/model-coverage.js';
import { until } from '../support/until.js';

const config = parseGridConfig({ id: 'rst', symbol: 'BTC/USDT', lower: 48_000, upper: 52_000, levels: 5, quantityPerLevel: 0.01 });
const INTENT: OrderIntent = { clientOrderId: 'bbrst_1b1', symbol: 'BTC/USDT', side: 'buy', type: 'limit', price: 49_000, amount: 0.01, level: 1 };
const exchangeOrder = (status: ExchangeOrder['status']): ExchangeOrder => ({
  id: 'x1',
  clientOrderId: INTENT.clientOrderId,
  symbol: INTENT.symbol,
  side: INTENT.side,
  type: 'limit',
  price: INTENT.price,
  amount: INTENT.amount,
  filled: 0,
  status,
  timestamp: 0,
});

/** An exchange that records the order requests and answers them at once (the own-order stream stays silent). */
function fakeExchange() {
  const calls: string[] = [];
  const answer = (name: string, order: ExchangeOrder | undefined) => async () => (calls.push(name), order);
  const exchange = {
    createLimitOrder: answer('createLimitOrder', exchangeOrder('open')),
    createMarketOrder: answer('createMarketOrder', exchangeOrder('open')),
    cancelOrder: answer('cancelOrder', exchangeOrder('canceled')),
    fetchOrderByClientId: answer('fetchOrderByClientId', exchangeOrder('open')),
    subscribe: () => () => {},
  } as unknown as ExchangePort;
  return { exchange, calls };
}

/** An order driven to `where` with its deadline `deadlineIn` ms from now (wall clock), persisted as JSON. */
async function persistedOrder(where: 'cancelBackoff' | 'lookupBackoff' | 'submitted', deadlineIn: number): Promise<Snapshot<unknown>> {
  const clock = new SimulatedClock();
  const pause = 1_000;
  clock.set(Date.now() + deadlineIn - pause);
  const answers: Array<{ resolve: (v: unknown) => void; reject: (e: unknown) => void }> = [];
  const held = <T>() => fromPromise<T, OrderIntent>(() => new Promise<T>((resolve, reject) => answers.push({ resolve: resolve as (v: unknown) => void, reject })));
  const machine = orderMachine.provide({
    actors: { recordIntent: held<IntentRecord>(), placeOrder: held<OrderAck>(), lookupOrder: held<OrderAck | undefined>(), cancelOrder: held<OrderAck>() },
    ...orderClock(() => clock.now()),
  });
  const actor = createActor(machine, { input: { intent: INTENT, lookupRetryMs: pause, submitTimeoutMs: pause }, clock }).start();
  const answer = async (ok: boolean, value: unknown) => {
    const next = answers.shift()!;
    if (ok) next.resolve(value);
    else next.reject(value);
    await flush();
  };
  const timeout = { kind: 'retryable', message: 'ETIMEDOUT' };
  await answer(true, 'new');
  if (where === 'cancelBackoff') {
    await answer(true, { id: 'x1', status: 'open', filled: 0 });
    actor.send({ type: 'CANCEL' });
    await answer(false, timeout);
  } else if (where === 'lookupBackoff') {
    await answer(false, timeout);
    await answer(false, timeout);
  }
  expect(actor.getSnapshot().value).toBe(where);
  if (where !== 'submitted') expect(actor.getSnapshot().context.deadline).toBe(clock.now() + pause);
  const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as Snapshot<unknown>;
  actor.stop();
  return persisted;
}

const gridSnapshot = (): Snapshot<unknown> => {
  const grid = createActor(gridMachine, { input: { config } }).start();
  const snapshot = grid.getPersistedSnapshot();
  grid.stop();
  return snapshot;
};

let runtime: GridRuntime | undefined;
afterEach(() => {
  runtime?.stop();
  runtime = undefined;
});

async function restore(order: Snapshot<unknown>, intentStored = true, clock?: SimulatedClock) {
  const { exchange, calls } = fakeExchange();
  const store = new MemoryStore();
  if (intentStored) await store.recordIntent(config.id, INTENT);
  runtime = startGridRuntime({ config, exchange, store, snapshot: { grid: gridSnapshot(), orders: { [INTENT.clientOrderId]: order } }, ...(clock ? { clock } : {}) });
  return { calls, runtime };
}

describe('grid runtime: restoring order actors', () => {
  test('an order restored in cancelBackoff whose deadline passed while the bot was down sends its cancel again at once', async () => {
    const { calls, runtime } = await restore(await persistedOrder('cancelBackoff', -60_000));
    await until(() => calls.length > 0, 'the cancel to be sent again', 2_000);
    expect(calls).toEqual(['cancelOrder']);
    await until(() => !runtime.orders.has(INTENT.clientOrderId), 'the order to end', 2_000);
  });

  test('an order restored in lookupBackoff waits what is left of its pause, then looks the order up again', async () => {
    const restoredAt = Date.now();
    const { calls, runtime } = await restore(await persistedOrder('lookupBackoff', 300));
    expect(runtime.orders.get(INTENT.clientOrderId)?.getSnapshot().value).toBe('lookupBackoff');
    await until(() => calls.length > 0, 'the look-up to be retried', 2_000);
    expect(Date.now() - restoredAt).toBeGreaterThanOrEqual(250);
    expect(calls).toEqual(['fetchOrderByClientId']);
    expect(runtime.orders.get(INTENT.clientOrderId)?.getSnapshot().value).toBe('open');
  });

  test("on the runtime's own clock (a backtest's), a restored deadline is read on that clock, not the wall clock", async () => {
    const clock = new SimulatedClock();
    const deadline = Date.now() - 60_000; // passed, by the wall clock
    clock.set(deadline - 5_000); // 5 s ahead, by the runtime's clock
    const { calls } = await restore(await persistedOrder('lookupBackoff', -60_000), true, clock);
    clock.increment(4_000);
    await flush();
    expect(calls).toEqual([]);
    clock.increment(1_000);
    await until(() => calls.length > 0, 'the look-up on the runtime clock', 2_000);
    expect(calls).toEqual(['fetchOrderByClientId']);
  });

  test('restarted in the same process while the stopped runtime\'s create is still under way, the order is looked up only once that create has settled', async () => {
    const store = new MemoryStore();
    const calls: string[] = [];
    let accept!: () => void;
    const exchange = {
      // The first runtime's create waits (a rate limiter's queue, a slow answer).
      createLimitOrder: () => (calls.push('createLimitOrder'), new Promise<ExchangeOrder>((resolve) => (accept = () => resolve(exchangeOrder('open'))))),
      fetchOrderByClientId: async () => (calls.push('fetchOrderByClientId'), accept === undefined ? undefined : exchangeOrder('open')),
      subscribe: () => () => {},
    } as unknown as ExchangePort;
    const first = startGridRuntime({ config, exchange, store, snapshot: { grid: gridSnapshot(), orders: {} }, restartOrders: [{ input: { intent: INTENT }, cancelRequested: false }] });
    await until(() => calls.includes('createLimitOrder'), 'the first create', 2_000);
    const saved = first.persist();
    first.stop(); // a supervised restart: the actors stop, the create goes on

    runtime = startGridRuntime({ config, exchange, store, snapshot: saved });
    await flush();
    await sleep(50);
    expect(calls).toEqual(['createLimitOrder']); // no look-up yet: it would find nothing
    accept();
    await until(() => runtime!.orders.get(INTENT.clientOrderId)?.getSnapshot().value === 'open', 'the order to be found resting', 2_000);
    expect(calls).toEqual(['createLimitOrder', 'fetchOrderByClientId']);
  });

  test("in a recovery, a restarted order listed open needs no look-up; one not listed waits for the catch-up, whose fills may end it without any", async () => {
    const store = new MemoryStore();
    await store.recordIntent(config.id, INTENT);
    const { exchange, calls } = fakeExchange();
    let caughtUp!: () => void;
    const recovery = { open: [] as ExchangeOrder[], caughtUp: new Promise<void>((resolve) => (caughtUp = resolve)) };
    const order = await persistedOrder('submitted', 0);
    runtime = startGridRuntime({ config, exchange, store, snapshot: { grid: gridSnapshot(), orders: { [INTENT.clientOrderId]: order } }, recovery });
    await sleep(50);
    expect(calls).toEqual([]); // not listed open: it waits for the catch-up
    const fill = { tradeId: 't1', orderId: 'x1', clientOrderId: INTENT.clientOrderId, symbol: INTENT.symbol, side: INTENT.side, price: INTENT.price!, amount: INTENT.amount, fee: 0.49, takerOrMaker: 'maker' as const, timestamp: Date.now() };
    await runtime.deliverFills([fill]); // the catch-up found it filled while nobody listened
    caughtUp();
    await until(() => !runtime!.orders.has(INTENT.clientOrderId), 'the order to end', 2_000);
    expect(calls).toEqual([]);

    runtime.stop();
    const listed = fakeExchange();
    const open = { ...exchangeOrder('open'), id: 'x1' };
    const again = new MemoryStore();
    await again.recordIntent(config.id, INTENT);
    runtime = startGridRuntime({ config, exchange: listed.exchange, store: again, snapshot: { grid: gridSnapshot(), orders: { [INTENT.clientOrderId]: order } }, recovery: { open: [open], caughtUp: new Promise(() => undefined) } });
    await until(() => runtime!.orders.get(INTENT.clientOrderId)?.getSnapshot().value === 'open', 'the order to be found resting', 2_000);
    expect(listed.calls).toEqual([]); // answered by the list, while the catch-up is still under way
  });

  test('an order restored in submitted is never sent blindly: started over, it is looked up first', async () => {
    const { calls, runtime } = await restore(await persistedOrder('submitted', 0));
    await until(() => runtime.orders.get(INTENT.clientOrderId)?.getSnapshot().value === 'open', 'the order to be found resting', 2_000);
    expect(calls).toEqual(['fetchOrderByClientId']);
  });
});
