// Runs a scenario through the production engine (BacktestSession on the paper exchange) while
// watching it: every fill the exchange reports, and optionally the book after every candle.
import { BacktestSession, type BacktestReport } from '../../src/actors/backtest/backtest.js';
import { sliceCandles } from '../../src/adapters/feed/candles.js';
import { parseGridConfig, type GridConfig } from '../../src/config/grid-config.js';
import type { Fill } from '../../src/domain/trading.js';
import type { Scenario } from './scenarios.js';

/** A fill as the exchange reported it (the start's market buy is rebuilt from the wallet). */
export type SeenFill = Pick<Fill, 'clientOrderId' | 'side' | 'price' | 'amount' | 'fee' | 'takerOrMaker'> & {
  /** -1 for the start's market buy; else the candles walked before the fill (exact only when fed candle by candle). */
  readonly candle: number;
};

export interface Watch {
  readonly session: BacktestSession;
  readonly config: GridConfig;
  /** Candles walked so far (0 right after the start). */
  readonly candles: number;
  /** Every fill so far, the start's market buy first. */
  readonly fills: readonly SeenFill[];
}

export interface Observed {
  readonly config: GridConfig;
  readonly report: BacktestReport;
  /** Every fill, the start's market buy (if any) first. */
  readonly fills: readonly SeenFill[];
  /** Client ids of the sells placed at the start (their fills close no round trip). */
  readonly initialSells: ReadonlySet<string>;
}

/**
 * Starts the grid at the first open and walks the candles. With `afterCandle`, the session is
 * fed one candle at a time and `afterCandle` runs after the start and after every candle.
 */
export async function observe(s: Scenario, afterCandle?: (watch: Watch) => void | Promise<void>): Promise<Observed> {
  const config = parseGridConfig(s.raw);
  const { candles } = s;
  const session = await BacktestSession.start(config, candles.open[0]!, candles.time[0]!);
  try {
    const fills: SeenFill[] = [];
    // The start's market buy happened inside start(), before anyone could subscribe: rebuild it from
    // the wallet (the base it added; the fees so far are its taker fee). Its price is taken to be P0,
    // which the accounting check (final quote = initial quote + cash flows) then verifies.
    const startingWallet = session.runtime.actor.getSnapshot().context.plan!.balance;
    const bought = session.exchange.wallet.base - startingWallet.base;
    if (bought !== 0) {
      fills.push({ clientOrderId: '(start)', side: 'buy', price: candles.open[0]!, amount: bought, fee: session.exchange.feesPaid, takerOrMaker: 'taker', candle: -1 });
    }
    const open = await session.exchange.fetchOpenOrders(config.symbol);
    const initialSells = new Set(open.filter((o) => o.side === 'sell').map((o) => o.clientOrderId));
    let walked = 0;
    session.exchange.subscribe((event) => {
      if (event.type !== 'fill') return;
      const { clientOrderId, side, price, amount, fee, takerOrMaker } = event.fill;
      fills.push({ clientOrderId, side, price, amount, fee, takerOrMaker, candle: walked });
    });
    const watch = (): Watch => ({ session, config, candles: walked, fills });
    if (afterCandle === undefined) {
      await session.feed(candles);
      walked = candles.length;
    } else {
      await afterCandle(watch());
      for (let i = 0; i < candles.length; i++) {
        await session.feed(sliceCandles(candles, i, i + 1));
        walked = i + 1;
        await afterCandle(watch());
      }
    }
    return { config, report: session.report(), fills, initialSells };
  } finally {
    session.close();
  }
}

/** Throws `message` (with the values) unless `condition` holds: readable property failures. */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** |a - b| <= abs + rel * max(|a|, |b|). */
export function near(a: number, b: number, abs: number, rel = 0): boolean {
  return Math.abs(a - b) <= abs + rel * Math.max(Math.abs(a), Math.abs(b));
}
