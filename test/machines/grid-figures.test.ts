// A grid's figures from its books (src/machines/grid-figures.ts): pending orders, open positions
// (lots bought whose counter-sell has not filled), equity and pnl, driven through the grid machine
// itself so that the books are the ones the grid keeps.
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { parseGridConfig, type GridConfig } from '../../src/config/grid-config.js';
import type { OrderIntent } from '../../src/domain/trading.js';
import { gridEquity, gridFigures, openPositions, pendingOrders, startEquity, unknownFigures } from '../../src/machines/grid-figures.js';
import { gridMachine, type GridContext } from '../../src/machines/grid.machine.js';

/** 5 levels: 100, 110, 120, 130, 140; q = 1. Started at 120: buys rest at 100 and 110, sells at 130 and 140 (the start buy's 2 lots). */
function config(overrides: Record<string, unknown> = {}): GridConfig {
  return parseGridConfig({
    id: 'f1',
    symbol: 'BTC/USDT',
    lower: 100,
    upper: 140,
    levels: 5,
    quantityPerLevel: 1,
    fees: { maker: 0.001, taker: 0.002 },
    market: { priceStep: 0.01, amountStep: 0.001, minNotional: 5 },
    ...overrides,
  });
}

function grid(cfg: GridConfig = config()) {
  const actor = createActor(gridMachine, { input: { config: cfg } });
  const submitted: OrderIntent[] = [];
  actor.on('order.submit', (event) => submitted.push(event.input.intent));
  actor.start();
  const ctx = (): GridContext => actor.getSnapshot().context;
  /** The last order submitted at `level` (market orders: level -1). */
  const at = (level: number, side?: 'buy' | 'sell'): OrderIntent => submitted.filter((intent) => intent.level === level && (side === undefined || intent.side === side)).at(-1)!;
  const fill = (intent: OrderIntent, price = intent.price!, fee = 0): void =>
    actor.send({ type: 'ORDER.FILLED', intent, filled: intent.amount, averagePrice: price, fee });
  return { actor, ctx, at, fill };
}

describe('grid figures', () => {
  it('before START: nothing out, no lot, no equity', () => {
    const { ctx } = grid();
    expect(pendingOrders(ctx())).toBe(0);
    expect(openPositions(ctx())).toBe(0);
    expect(gridEquity(ctx(), 120)).toBeNaN();
    expect(startEquity(ctx())).toBeNaN();
  });

  it('follows the books through a start, a buy, its round trip and a pause: pending orders, open lots, equity and pnl', () => {
    const { actor, ctx, at, fill } = grid();
    actor.send({ type: 'START', price: 120 });
    // The start buy is out: no limit order yet, no lot bought yet.
    expect(pendingOrders(ctx())).toBe(0);
    expect(openPositions(ctx())).toBe(0);
    // The default wallet covers the start buy and the resting buys: 2 x 120 x 1.002 + (110 + 100) x 1.001.
    const quote0 = 2 * 120 * 1.002 + 210 * 1.001;
    expect(startEquity(ctx())).toBeCloseTo(quote0, 9);

    fill(at(-1), 120, 0.48);
    expect(pendingOrders(ctx())).toBe(4);
    expect(openPositions(ctx())).toBe(2); // the start buy's lots, their sells resting at 130 and 140
    expect(ctx().quote).toBeCloseTo(quote0 - 240 - 0.48, 9);
    expect(gridEquity(ctx(), 120) - startEquity(ctx())).toBeCloseTo(-0.48, 9); // the taker fee

    fill(at(1, 'buy'), 110, 0.11);
    // A buy filled: its counter-sell at 120 is out, 3 lots held.
    expect(pendingOrders(ctx())).toBe(4);
    expect(openPositions(ctx())).toBe(3);
    expect(gridEquity(ctx(), 110) - startEquity(ctx())).toBeCloseTo(-0.59 - 20, 9); // 3 lots at 110 against the costs

    fill(at(2, 'sell'), 120, 0.12);
    // The round trip closed: its profit (10) minus every fee is the pnl at the start price.
    expect(ctx().stats).toMatchObject({ roundTrips: 1, gridProfit: 10 });
    expect(openPositions(ctx())).toBe(2);
    expect(pendingOrders(ctx())).toBe(4);
    expect(gridEquity(ctx(), 120) - startEquity(ctx())).toBeCloseTo(10 - 0.71, 9);

    // Paused: a buy's fill holds its counter-sell back (deferred): the lot counts, the order is not out.
    actor.send({ type: 'PAUSE' });
    fill(at(1, 'buy'), 110, 0.11);
    expect(ctx().deferred).toEqual([{ side: 'sell', level: 2, roundTrip: true }]);
    expect(openPositions(ctx())).toBe(3);
    expect(pendingOrders(ctx())).toBe(3);
    // A sell's fill while paused: its lot is gone, its counter-buy waits.
    fill(at(3, 'sell'), 130, 0.13);
    expect(openPositions(ctx())).toBe(2);
    expect(pendingOrders(ctx())).toBe(2);

    const figures = gridFigures('f1', 'PAUSED', ctx(), 125);
    expect(figures).toEqual({
      id: 'f1',
      symbol: 'BTC/USDT',
      state: 'PAUSED',
      pendingOrders: 2,
      openPositions: 2,
      gridProfit: 10,
      fees: expect.closeTo(0.48 + 0.11 + 0.12 + 0.11 + 0.13, 9),
      equity: expect.closeTo(gridEquity(ctx(), 125), 9),
      pnl: expect.closeTo(gridEquity(ctx(), 125) - quote0, 9),
      fills: { buy: 2, sell: 2 },
      roundTrips: 1,
      lastPrice: 125,
      levels: [100, 110, 120, 130, 140],
    });
    // quote + position x price, the position being the 2 lots held.
    expect(ctx().position).toBeCloseTo(2, 9);
    expect(figures.equity).toBeCloseTo(ctx().quote + 2 * 125, 9);
  });

  it("counts the start buy's lots when it filled but the grid went to ERROR before placing their sells", () => {
    const { actor, ctx, at, fill } = grid();
    actor.send({ type: 'START', price: 120 });
    const startBuy = at(-1);
    actor.send({ type: 'FAULT', reason: 'the exchange session gave up' });
    fill(startBuy, 120, 0.48);
    expect(actor.getSnapshot().value).toBe('error');
    expect(ctx()).toMatchObject({ gridPlaced: false, pendingMarketOrder: undefined });
    expect(openPositions(ctx())).toBe(2);
    expect(pendingOrders(ctx())).toBe(0);
    // A stop that sells them: no lot left.
    actor.send({ type: 'STOP', sellBase: true });
    fill(at(-1, 'sell'), 119, 0.24);
    expect(actor.getSnapshot().value).toBe('idle');
    expect(openPositions(ctx())).toBe(0);
    expect(gridEquity(ctx(), 119) - startEquity(ctx())).toBeCloseTo(2 * (119 - 120) - 0.48 - 0.24, 9);
  });

  it('values a starting base at the start price, and is NaN for a price not known or books without quote (an older snapshot)', () => {
    const { actor, ctx, at, fill } = grid(config({ balance: { quote: 1_000, base: 1 } }));
    actor.send({ type: 'START', price: 120 });
    expect(startEquity(ctx())).toBeCloseTo(1_000 + 120, 9);
    fill(at(-1), 120, 0);
    expect(gridEquity(ctx(), 120) - startEquity(ctx())).toBeCloseTo(0, 9);
    expect(gridEquity(ctx(), Number.NaN)).toBeNaN();
    const older = { ...ctx(), quote: undefined } as unknown as GridContext;
    expect(gridEquity(older, 120)).toBeNaN();
  });

  it('a grid whose figures are not known has them all NaN', () => {
    const figures = unknownFigures('f1', 'BTC/USDT', 'RECOVERING');
    expect(figures).toMatchObject({ id: 'f1', symbol: 'BTC/USDT', state: 'RECOVERING' });
    for (const value of [figures.pendingOrders, figures.openPositions, figures.gridProfit, figures.fees, figures.equity, figures.pnl, figures.roundTrips, figures.lastPrice, figures.fills.buy, figures.fills.sell]) {
      expect(value).toBeNaN();
    }
  });
});
