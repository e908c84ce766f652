// The exchange session of paper and demo mode: the supervision tree's `exchange` child, as the
// ExchangeSession is in live mode, with the paper exchange behind the exchange port. Each symbol
// has its own paper account, kept in the store (paper-account.ts), so a restart continues it.
//
// The session walks its accounts along the price targets it is given: a candle file (paper mode)
// or the exchange's live ticks (demo mode, from a prices-only ExchangeSession it starts and stops
// with itself). After a step that fills, the walk waits until the grid has answered (no request
// for 50 ms, 2 s at most) before the price moves on, so the counter-orders are in the book when
// the price comes back, as in a backtest. Every price reached is told as a tick (the grids' start
// price, stop-loss and take-profit).
//
// An account is created at the first price it sees, holding what its grids' start needs (their
// configured balance, else what the start plan asks for), and loaded on every later start. One
// session writes the accounts at a time: a new session (a supervised restart) loads them only once
// the one before it has stopped, so the two never write over each other.
import type { AssetBalance, ExchangeEvent, ExchangeOrder, LimitOrderRequest, MarketInfo, MarketOrderRequest, Tick } from '../../adapters/exchange/port.js';
import { ExchangeError } from '../../adapters/exchange/port.js';
import type { PriceTarget } from '../../adapters/feed/price-feeds.js';
import type { PaperAccountStore } from '../../adapters/store/port.js';
import { moduleLogger, silentLogger, type Logger } from '../../adapters/telemetry/logger.js';
import type { GridConfig } from '../../config/grid-config.js';
import type { PartHealth, WebsocketHealth } from '../../domain/health.js';
import type { Fill } from '../../domain/trading.js';
import { planStart } from '../../machines/grid-math.js';
import type { SessionStatus } from './exchange-session.js';
import { whenAborted } from '../supervision/when-aborted.js';
import { TickBoard } from './tick-board.js';
import { PaperAccount } from './paper-account.js';

/** The live prices of demo mode: a prices-only exchange session (its stream and REST polling). */
export interface Ticker {
  start(): void;
  stop(): Promise<void>;
  status(): SessionStatus;
  health(): PartHealth;
  websocket(): WebsocketHealth;
  onReconnect(listener: (exchange: string) => void): () => void;
  onTick(listener: (tick: Tick) => void): () => void;
  onFailure(listener: (error: unknown) => void): () => void;
}

/** Passed from each session to the next: the stop of the one before, which the next waits for. */
export interface AccountHandoff {
  previous: Promise<void>;
}

export interface PaperSessionOptions {
  readonly grids: readonly GridConfig[];
  readonly store: PaperAccountStore;
  /** Each symbol's market filters (the exchange's in demo mode, the configured ones in paper mode). */
  readonly market: (symbol: string) => Promise<MarketInfo>;
  /** The prices to walk; `after`: the last candle the accounts walked (paper mode resumes after it). */
  readonly prices: (after: number | undefined, signal: AbortSignal) => AsyncIterable<PriceTarget>;
  /** Demo mode's live prices; started and stopped with the session. */
  readonly ticker?: Ticker;
  readonly handoff: AccountHandoff;
  /** Paper mode: after its first price the walk holds until this settles (the grids trade). */
  readonly holdAfterFirstPrice?: () => Promise<void>;
  /** Told when the prices end (a paper replay's last candle): the run stops as on SIGTERM. */
  readonly onPricesEnded?: () => void;
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** The walk waits this long without a request after a fill (the grid's answer), at most CAP. */
const QUIET_MS = 50;
const QUIET_CAP_MS = 2_000;
/** A step the store could not save is tried again after this long. */
const UNSAVED_RETRY_MS = 1_000;

export class PaperSession {
  private readonly accounts = new Map<string, PaperAccount>();
  private readonly accountWaiters = new Map<string, Array<(account: PaperAccount) => void>>();
  private readonly listeners = new Set<(event: ExchangeEvent) => void>();
  private readonly failureListeners = new Set<(error: unknown) => void>();
  private readonly ticks = new TickBoard();
  private readonly stopping = new AbortController();
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly symbols: readonly string[];
  private walking: Promise<void> = Promise.resolve();
  private lastError: string | null = null;
  private pricesEnded = false;
  private started = false;

  constructor(private readonly options: PaperSessionOptions) {
    this.logger = moduleLogger(options.logger ?? silentLogger, 'exchange');
    this.now = options.now ?? Date.now;
    this.symbols = [...new Set(options.grids.map((grid) => grid.symbol))];
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.options.ticker?.onFailure((error) => this.fail(error));
    this.options.ticker?.start();
    const previous = this.options.handoff.previous;
    this.walking = previous.then(() => this.walk()).catch((error: unknown) => this.fail(error));
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    const stopped = Promise.all([this.walking, this.options.ticker?.stop()]).then(() => undefined);
    this.options.handoff.previous = stopped;
    await stopped;
  }

  status(): SessionStatus {
    if (this.options.ticker !== undefined) return this.options.ticker.status();
    return { state: 'connected', lastError: this.lastError, attempt: 0, lastTickAt: this.ticks.lastTickAt() };
  }

  health(): PartHealth {
    const accounts = Object.fromEntries([...this.accounts].map(([symbol, account]) => [symbol, { price: account.lastPrice }]));
    if (this.lastError !== null) return { healthy: false, state: 'unsaved', reason: `the paper exchange cannot save its accounts (${this.lastError}): it waits for the database`, detail: { accounts } };
    if (this.options.ticker !== undefined) {
      const prices = this.options.ticker.health();
      return { ...prices, detail: { ...prices.detail, accounts } };
    }
    return { healthy: true, state: this.pricesEnded ? 'ended' : 'replaying', detail: { accounts } };
  }

  /** /health's websocket component: demo mode's price stream; paper mode has none. */
  websocket(): WebsocketHealth {
    return this.options.ticker?.websocket() ?? { status: 'disabled', connected: false, reason: 'paper mode: prices from candles, no exchange stream' };
  }

  /** Demo mode: told each time the price stream comes back after it was lost. */
  onReconnect(listener: (exchange: string) => void): () => void {
    return this.options.ticker?.onReconnect(listener) ?? (() => undefined);
  }

  onFailure(listener: (error: unknown) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  onTick(listener: (tick: Tick) => void): () => void {
    return this.ticks.onTick(listener);
  }

  /** The current price of `symbol`, waiting for the first one. */
  firstTick(symbol: string, signal?: AbortSignal): Promise<Tick> {
    return this.ticks.firstTick(symbol, signal);
  }

  subscribe(listener: (event: ExchangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- the exchange port: each request to its symbol's account ----------------------------

  async loadMarket(symbol: string): Promise<MarketInfo> {
    return this.options.market(symbol);
  }

  async createLimitOrder(request: LimitOrderRequest): Promise<ExchangeOrder> {
    return (await this.account(request.symbol)).createLimitOrder(request);
  }

  async createMarketOrder(request: MarketOrderRequest): Promise<ExchangeOrder> {
    return (await this.account(request.symbol)).createMarketOrder(request);
  }

  async cancelOrder(clientOrderId: string, symbol: string): Promise<ExchangeOrder> {
    return (await this.account(symbol)).cancelOrder(clientOrderId, symbol);
  }

  async fetchOrderByClientId(clientOrderId: string, symbol: string): Promise<ExchangeOrder | undefined> {
    return (await this.account(symbol)).fetchOrderByClientId(clientOrderId, symbol);
  }

  async fetchOpenOrders(symbol: string): Promise<ExchangeOrder[]> {
    return (await this.account(symbol)).fetchOpenOrders(symbol);
  }

  async fetchFills(symbol: string, since?: number): Promise<Fill[]> {
    return (await this.account(symbol)).fetchFills(symbol, since);
  }

  /** Every account's balances, summed by currency (two symbols with the same quote share it, as on one exchange account). */
  async fetchBalance(): Promise<Record<string, AssetBalance>> {
    const total: Record<string, AssetBalance> = {};
    for (const symbol of this.symbols) {
      for (const [currency, balance] of Object.entries(await (await this.account(symbol)).fetchBalance())) {
        const sum = total[currency];
        total[currency] = sum === undefined ? balance : { free: sum.free + balance.free, used: sum.used + balance.used, total: sum.total + balance.total };
      }
    }
    return total;
  }

  // ---- the walk -----------------------------------------------------------------------------

  private account(symbol: string): Promise<PaperAccount> {
    if (!this.symbols.includes(symbol)) return Promise.reject(new ExchangeError('rejected', `unknown symbol ${symbol}: the paper exchange trades ${this.symbols.join(', ')}`, 'BAD_SYMBOL'));
    const account = this.accounts.get(symbol);
    if (account !== undefined) return Promise.resolve(account);
    return new Promise((resolve) => this.accountWaiters.set(symbol, [...(this.accountWaiters.get(symbol) ?? []), resolve]));
  }

  private async walk(): Promise<void> {
    const signal = this.stopping.signal;
    for (const symbol of this.symbols) {
      const saved = await PaperAccount.load(accountId(symbol), this.options.store, await this.accountOptions(symbol));
      if (saved !== undefined) this.adopt(symbol, saved);
    }
    if (signal.aborted) return;
    const walked = [...this.accounts.values()].map((account) => account.walkedThrough).filter((time) => time !== undefined);
    const after = walked.length === this.symbols.length && walked.length > 0 ? Math.min(...walked) : undefined;
    if (after !== undefined) this.logger.info({ after: new Date(after).toISOString() }, 'paper replay resumes after the last candle walked');
    let held = this.options.holdAfterFirstPrice === undefined;
    for await (const target of this.options.prices(after, signal)) {
      for (const symbol of target.symbol === undefined ? this.symbols : [target.symbol]) {
        if (signal.aborted) return;
        if (!this.symbols.includes(symbol)) continue;
        await this.patiently(() => this.walkTo(symbol, target));
      }
      if (!held) {
        held = true;
        await Promise.race([this.options.holdAfterFirstPrice!(), whenAborted(signal)]);
      }
    }
    if (signal.aborted) return;
    this.pricesEnded = true;
    this.logger.info({}, 'the price feed ended: no more prices to walk');
    this.options.onPricesEnded?.();
  }

  /** Moves `symbol`'s account to the target, stopping at each fill until the grid has answered it. */
  private async walkTo(symbol: string, target: PriceTarget): Promise<void> {
    const account = this.accounts.get(symbol) ?? (await this.createAccount(symbol, target.price));
    while (await account.step(target.price)) {
      this.tell({ symbol, price: account.lastPrice, timestamp: this.now() });
      await account.quiet(QUIET_MS, QUIET_CAP_MS);
      if (this.stopping.signal.aborted) return;
    }
    this.tell({ symbol, price: target.price, timestamp: this.now() });
    if (target.candleEnd) await account.markWalked(target.time, true);
  }

  /** Runs a step of the walk until the store takes it (an outage waits), or the session stops. */
  private async patiently(step: () => Promise<void>): Promise<void> {
    for (;;) {
      try {
        await step();
        this.lastError = null;
        return;
      } catch (error) {
        if (!(error instanceof ExchangeError && error.kind === 'retryable')) throw error;
        this.lastError = error.message;
        this.logger.warn({ error: error.message }, 'the paper exchange waits for the database');
        await new Promise((resolve) => setTimeout(resolve, UNSAVED_RETRY_MS));
        if (this.stopping.signal.aborted) return;
      }
    }
  }

  private async createAccount(symbol: string, price: number): Promise<PaperAccount> {
    const grids = this.options.grids.filter((grid) => grid.symbol === symbol);
    const balance = { base: 0, quote: 0 };
    for (const grid of grids) {
      const wanted = startBalance(grid, price);
      balance.base += wanted.base;
      balance.quote += wanted.quote;
    }
    const account = await PaperAccount.create(accountId(symbol), this.options.store, await this.accountOptions(symbol), balance, price);
    this.logger.info({ symbol, price, balance }, 'paper account opened');
    this.adopt(symbol, account);
    return account;
  }

  private adopt(symbol: string, account: PaperAccount): void {
    this.accounts.set(symbol, account);
    account.subscribe((event) => {
      for (const listener of this.listeners) listener(event);
    });
    for (const resolve of this.accountWaiters.get(symbol) ?? []) resolve(account);
    this.accountWaiters.delete(symbol);
  }

  private async accountOptions(symbol: string): Promise<{ market: MarketInfo; fees: GridConfig['fees']; now: () => number }> {
    const grid = this.options.grids.find((candidate) => candidate.symbol === symbol)!;
    return { market: await this.options.market(symbol), fees: grid.fees, now: this.now };
  }

  private tell(tick: Tick): void {
    this.ticks.tell(tick);
  }

  private fail(error: unknown): void {
    if (this.stopping.signal.aborted) return;
    this.logger.error({ error: error instanceof Error ? error.message : String(error) }, 'the paper exchange session failed');
    for (const listener of [...this.failureListeners]) listener(error);
  }
}

/** A paper account per symbol. */
function accountId(symbol: string): string {
  return `paper:${symbol}`;
}

/** What a grid's start needs in the account: its configured balance, else what its start plan asks for at `price`. */
function startBalance(grid: GridConfig, price: number): { base: number; quote: number } {
  try {
    return planStart(grid, price).balance;
  } catch {
    // The grid cannot start at this price: its start says why (a config error); the account holds what is configured.
    return { base: grid.balance?.base ?? 0, quote: grid.balance?.quote ?? 0 };
  }
}
