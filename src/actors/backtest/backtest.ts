// Backtest: the grid and order actors on a virtual clock against the paper exchange.
//
// The candle walk (docs/grid-rules.md) moves the paper exchange's price segment by
// segment. The exchange stops at every price where an order fills; the session then settles all
// actor work (fill stored, order actor final, grid decides, counter-order stored and placed)
// before the walk moves on, so a counter-order is in the book "at once". Stop-loss and
// take-profit prices split a segment: orders at the trigger price fill first, then the grid is
// told (PRICE_TRIGGER) and stops. Candles without a fill cost a few comparisons and no actor work.
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { GridConfig } from '../../config/grid-config.js';
import { PaperExchange, type PaperExchangeState } from '../../adapters/exchange/paper-exchange.js';
import type { MarketInfo } from '../../adapters/exchange/port.js';
import type { CandleSeries } from '../../adapters/feed/candles.js';
import { MemoryStore } from '../../adapters/store/memory-store.js';
import { silentLogger, type Logger } from '../../adapters/telemetry/logger.js';
import { startGridRuntime, type GridRuntime, type GridRuntimeSnapshot } from '../grid/grid-runtime.js';
import { VirtualClock } from './virtual-clock.js';
import { planStart, reachedTrigger, type PriceTrigger } from '../../machines/grid-math.js';

export interface WalletReport {
  readonly base: number;
  readonly quote: number;
  readonly equity: number;
}

/** The backtest report; docs/grid-rules.md ("The report") explains every field. */
export interface BacktestReport {
  readonly candles: number;
  readonly startPrice: number;
  readonly lastPrice: number;
  readonly quantityPerLevel: number;
  readonly levels: readonly number[];
  readonly fills: { readonly buy: number; readonly sell: number };
  readonly roundTrips: number;
  readonly gridProfit: number;
  readonly fees: number;
  readonly skippedOrders: number;
  readonly initial: WalletReport;
  readonly final: WalletReport;
  readonly openOrders: { readonly buy: number; readonly sell: number };
  readonly stopped: 'stopLoss' | 'takeProfit' | null;
  readonly maxDrawdown: number;
}

/** Where the walk stands between candles; with the two snapshots it continues a run exactly. */
interface WalkState {
  candles: number;
  startPrice: number;
  lastClose: number;
  peakEquity: number;
  maxDrawdown: number;
  triggersArmed: boolean;
  time: number;
}

/** A persisted backtest: JSON-safe, so it can be written to disk and continued later. */
export interface BacktestCheckpoint {
  readonly version: 1;
  readonly grid: GridRuntimeSnapshot;
  readonly exchange: PaperExchangeState;
  readonly walk: WalkState;
}

export interface BacktestOptions {
  readonly logger?: Logger;
}

const settle = (): Promise<void> => nextMacrotask();

export class BacktestSession {
  private constructor(
    private readonly config: GridConfig,
    private readonly clock: VirtualClock,
    /** The paper exchange the run trades on (read it, e.g. for invariants; do not trade on it). */
    readonly exchange: PaperExchange,
    /** The grid actor and its order actors. */
    readonly runtime: GridRuntime,
    private readonly walk: WalkState,
  ) {}

  /** Starts the grid at `startPrice` (the first candle's open) at time `startTime`. */
  static async start(config: GridConfig, startPrice: number, startTime: number, options: BacktestOptions = {}): Promise<BacktestSession> {
    const plan = planStart(config, startPrice); // throws ConfigError before anything is placed
    const clock = new VirtualClock(startTime);
    const exchange = new PaperExchange({ market: configuredMarket(config), fees: config.fees, balance: plan.balance, now: () => clock.now(), keepFills: false });
    exchange.setPrice(startPrice);
    const runtime = startGridRuntime({ config, exchange, store: new MemoryStore(), clock, logger: options.logger ?? silentLogger });
    const walk: WalkState = {
      candles: 0,
      startPrice,
      lastClose: startPrice,
      peakEquity: 0,
      maxDrawdown: 0,
      triggersArmed: config.stopLoss !== undefined || config.takeProfit !== undefined,
      time: startTime,
    };
    const session = new BacktestSession(config, clock, exchange, runtime, walk);
    runtime.actor.send({ type: 'START', price: startPrice });
    await settle();
    session.failIfGridFailed();
    session.sampleEquity(startPrice);
    return session;
  }

  /** Continues a run from a checkpoint. */
  static resume(config: GridConfig, checkpoint: BacktestCheckpoint, options: BacktestOptions = {}): BacktestSession {
    const walk = { ...checkpoint.walk };
    const clock = new VirtualClock(walk.time);
    const exchange = PaperExchange.restore(
      { market: configuredMarket(config), fees: config.fees, balance: { base: 0, quote: 0 }, now: () => clock.now(), keepFills: false },
      checkpoint.exchange,
    );
    const runtime = startGridRuntime({ config, exchange, store: new MemoryStore(), clock, logger: options.logger ?? silentLogger, snapshot: checkpoint.grid });
    return new BacktestSession(config, clock, exchange, runtime, walk);
  }

  /** Walks `candles` (continuing from where the walk stands). `onProgress` is told the count done every 4096 candles. */
  async feed(candles: CandleSeries, onProgress?: (done: number) => void): Promise<void> {
    const { open, high, low, close, time } = candles;
    for (let i = 0; i < candles.length; i++) {
      if (time[i]! > this.walk.time) {
        this.walk.time = time[i]!;
        this.clock.advanceTo(time[i]!);
      }
      const o = open[i]!;
      const c = close[i]!;
      // The joining segment (previous close -> open) fills what a gap crosses; the first candle starts at its open.
      if (this.walk.candles > 0 && !this.walkQuietly(o)) await this.walkTo(o);
      // O -> L -> H -> C when the candle closes up (or flat), O -> H -> L -> C when it closes down.
      const first = c >= o ? low[i]! : high[i]!;
      const second = c >= o ? high[i]! : low[i]!;
      if (!this.walkQuietly(first)) await this.walkTo(first);
      if (!this.walkQuietly(second)) await this.walkTo(second);
      if (!this.walkQuietly(c)) await this.walkTo(c);
      this.walk.candles++;
      this.walk.lastClose = c;
      this.sampleEquity(c);
      if (onProgress !== undefined && (i & 4095) === 4095) onProgress(i + 1);
    }
    this.failIfGridFailed();
  }

  /** The stop-loss or take-profit the move to `target` crosses, if any. */
  private crossedTrigger(target: number): { kind: PriceTrigger; price: number } | undefined {
    if (!this.walk.triggersArmed) return undefined;
    const kind = reachedTrigger(this.config, target);
    // Reached already where the walk stands: it was crossed before (and told) or the start was beyond it.
    if (kind === undefined || reachedTrigger(this.config, this.exchange.lastPrice) === kind) return undefined;
    return { kind, price: this.config[kind]! };
  }

  /** The fast path, most segments: nothing fills and no trigger is crossed, so no actor has work. */
  private walkQuietly(target: number): boolean {
    if (this.exchange.wouldFill(target) || this.crossedTrigger(target) !== undefined) return false;
    this.exchange.setPrice(target);
    return true;
  }

  /** Moves the price to `target`, firing a stop-loss / take-profit crossed on the way. */
  private async walkTo(target: number): Promise<void> {
    const trigger = this.crossedTrigger(target);
    if (trigger !== undefined) {
      // Orders exactly at the trigger price fill first; then the grid stops.
      await this.stepTo(trigger.price);
      this.walk.triggersArmed = false;
      this.runtime.actor.send({ type: 'PRICE_TRIGGER', trigger: trigger.kind });
      await settle();
    }
    await this.stepTo(target);
  }

  private async stepTo(target: number): Promise<void> {
    while (this.exchange.step(target)) await settle();
  }

  private sampleEquity(price: number): void {
    const equity = this.exchange.equityAt(price);
    if (equity > this.walk.peakEquity) this.walk.peakEquity = equity;
    else if (this.walk.peakEquity > 0) {
      const drawdown = (this.walk.peakEquity - equity) / this.walk.peakEquity;
      if (drawdown > this.walk.maxDrawdown) this.walk.maxDrawdown = drawdown;
    }
  }

  private failIfGridFailed(): void {
    const snapshot = this.runtime.actor.getSnapshot();
    if (snapshot.status === 'error') throw new Error(`the grid actor failed: ${String(snapshot.error)}`);
    if (snapshot.matches('error')) throw new Error(`the grid stopped with an error: ${snapshot.context.error}`);
  }

  checkpoint(): BacktestCheckpoint {
    return {
      version: 1,
      grid: this.runtime.persist(),
      exchange: this.exchange.snapshot(),
      walk: { ...this.walk },
    };
  }

  report(): BacktestReport {
    const { context } = this.runtime.actor.getSnapshot();
    const plan = context.plan!;
    const wallet = this.exchange.wallet;
    const stopped = context.stopReason === 'stopLoss' || context.stopReason === 'takeProfit' ? context.stopReason : null;
    return {
      candles: this.walk.candles,
      startPrice: this.walk.startPrice,
      lastPrice: this.walk.lastClose,
      quantityPerLevel: plan.quantity,
      levels: plan.levels,
      fills: { buy: context.stats.buyFills, sell: context.stats.sellFills },
      roundTrips: context.stats.roundTrips,
      gridProfit: context.stats.gridProfit,
      fees: context.stats.fees,
      skippedOrders: context.stats.skippedOrders,
      initial: { base: plan.balance.base, quote: plan.balance.quote, equity: plan.balance.quote + plan.balance.base * this.walk.startPrice },
      final: { base: wallet.base, quote: wallet.quote, equity: wallet.quote + wallet.base * this.walk.lastClose },
      openOrders: this.exchange.openOrderCount,
      stopped,
      maxDrawdown: this.walk.maxDrawdown,
    };
  }

  /** The grid's lifecycle state, e.g. "idle" or { active: "running" }. */
  get gridState(): unknown {
    return this.runtime.actor.getSnapshot().value;
  }

  close(): void {
    this.runtime.stop();
  }
}

/** The market filters a grid is configured with (paper and backtest: the paper exchange enforces these). */
export function configuredMarket(config: GridConfig): MarketInfo {
  const [base = 'BASE', quote = 'QUOTE'] = config.symbol.split(/[/:]/);
  return { symbol: config.symbol, base, quote, ...config.market };
}

/** Runs a whole backtest: start at the first candle's open, walk every candle, report. */
export async function runBacktest(
  config: GridConfig,
  candles: CandleSeries,
  options: BacktestOptions & { onProgress?: (done: number) => void } = {},
): Promise<BacktestReport> {
  if (candles.length === 0) throw new Error('no candles to backtest');
  const session = await BacktestSession.start(config, candles.open[0]!, candles.time[0]!, options);
  try {
    await session.feed(candles, options.onProgress);
    return session.report();
  } finally {
    session.close();
  }
}
