// What one fill costs in actors: the floor under `btcbot backtest`'s per-fill time.
// Prints microseconds per operation; asserts nothing. Run: npm run build && node bench/actor-costs.mjs
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { createActor, fromPromise, setup } from 'xstate';
import { VirtualClock } from '../dist/actors/backtest/virtual-clock.js';
import { parseGridConfig } from '../dist/config/grid-config.js';
import { gridMachine } from '../dist/machines/grid.machine.js';
import { orderMachine } from '../dist/machines/order.machine.js';

const N = 20_000;

async function measure(label, once) {
  for (let i = 0; i < 2_000; i++) await once(i); // warm up
  const start = performance.now();
  for (let i = 0; i < N; i++) await once(i);
  console.log(`${label.padEnd(58)} ${(((performance.now() - start) * 1000) / N).toFixed(1).padStart(6)} µs`);
}

// 1. The smallest XState actor life: create, start, three events, done.
const tiny = setup({}).createMachine({
  initial: 'a',
  states: { a: { on: { NEXT: 'b' } }, b: { on: { NEXT: 'c' } }, c: { on: { NEXT: 'd' } }, d: { type: 'final' } },
});
await measure('minimal actor: create, start, 3 events, final', () => {
  const actor = createActor(tiny).start();
  actor.send({ type: 'NEXT' });
  actor.send({ type: 'NEXT' });
  actor.send({ type: 'NEXT' });
});

// 2. A btcbot order: intent stored, placed, open, filled; effects answer at once.
const clock = new VirtualClock(0);
const order = orderMachine.provide({
  actors: {
    recordIntent: fromPromise(async () => {}),
    placeOrder: fromPromise(async () => ({ id: 'x', status: 'open', filled: 0 })),
  },
});
await measure('order actor: recording -> submitted -> open -> filled', async (i) => {
  const intent = { clientOrderId: `c${i}`, symbol: 'BTC/USDT', side: 'buy', type: 'limit', price: 1, amount: 1, level: 1 };
  const actor = createActor(order, { input: { intent }, clock }).start();
  await nextMacrotask();
  actor.send({ type: 'FILL', fill: { tradeId: `t${i}`, amount: 1, price: 1, fee: 0 } });
});

// 3. The grid deciding one counter-order (a 100-level grid).
const config = parseGridConfig({ symbol: 'BTC/USDT', lower: 40_000, upper: 90_000, levels: 100, investment: 10_000 });
const grid = createActor(gridMachine, { input: { config } });
const out = [];
grid.on('order.submit', (event) => out.push(event.input.intent));
grid.start();
grid.send({ type: 'START', price: 60_000 });
const startBuy = out.shift();
grid.send({ type: 'ORDER.FILLED', intent: startBuy, filled: startBuy.amount, averagePrice: 60_000, fee: 0 });
await measure('grid actor: ORDER.FILLED -> counter-order', (i) => {
  const intent = out.find((o) => o.side === (i % 2 ? 'sell' : 'buy')) ?? out[0];
  out.splice(out.indexOf(intent), 1);
  grid.send({ type: 'ORDER.FILLED', intent, filled: intent.amount, averagePrice: intent.price, fee: 0 });
});

await measure('one settle (a macrotask turn)', () => nextMacrotask());
