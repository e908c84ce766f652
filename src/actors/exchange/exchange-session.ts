// One exchange account's session: the exchange port of the live and demo modes. Requests go
// straight to the exchange; the ticker and the own-order stream come over WebSocket (ccxt pro)
// while it is up and from REST polling while it is down. The exchange-connection statechart
// decides when the stream counts as up, lost or stale, and when to retry; this actor carries
// out its decisions.
//
// Stream lifecycle, one attempt (a "generation") at a time:
// - connect: drop the previous sockets, watch every symbol's ticker and wait for a first tick
//   (no tick within connectTimeoutMs fails the attempt), start the own-order watches, then a REST
//   catch-up of the fills made meanwhile. Subscribing first and catching up second leaves no gap.
// - connected: every stream message is a MESSAGE (the stale timer restarts); a rejected watch is
//   CONNECTION_LOST (AUTH_FAILED for a revoked key). A REST catch-up still runs 1 s and 3 s after
//   the connection (a private subscription takes effect on the exchange some time after it is
//   sent, and ccxt does not say when: a fill in that gap reaches neither the stream nor the first
//   catch-up) and then every reconcileIntervalMs, so a fill the stream missed is booked late,
//   never lost.
// - not connected (connecting, reconnecting, failed): the sockets are closed and REST is polled
//   every pollIntervalMs: ticks from fetchTicker, fills from fetchMyTrades.
//
// Fills are delivered once each (by trade id), whichever way they came. The REST catch-up asks
// from the newest fill REST has returned (its watermark); stream fills do not move the watermark,
// so a fill the stream skipped before a later one is still found.
//
// Spans (docs/telemetry.md): each connection attempt is an `exchange.connect`; the streams going
// down opens an `exchange.reconnect` (a trace of its own) that lasts until they are up again (or
// failed, or the session stops), its attempts its children.
import { createActor, fromPromise, type Actor } from 'xstate';
import type { Fill } from '../../domain/trading.js';
import {
  ConnectError,
  exchangeConnectionMachine,
  type BackoffOptions,
  type ConnectInput,
  type ConnectOutput,
} from '../../machines/exchange-connection.machine.js';
import { ExchangeError, type ExchangeEvent, type ExchangePort, type StreamingExchange, type Tick } from '../../adapters/exchange/port.js';
import { moduleLogger, silentLogger, type Logger } from '../../adapters/telemetry/logger.js';
import { ATTR, defaultTracePort, type TracePort, type TraceSpan } from '../../adapters/telemetry/trace-port.js';
import type { WebsocketHealth } from '../../domain/health.js';
import { TickBoard } from './tick-board.js';
import type { PartHealth } from '../supervision/health.js';

export interface ExchangeSessionOptions {
  readonly exchange: StreamingExchange;
  readonly symbols: readonly string[];
  /** Stream own orders and fills (needs API keys: live mode). Without: market data only (demo). */
  readonly own: boolean;
  /** Fills before this time (ms) are not reported (the process start). */
  readonly since: number;
  readonly logger?: Logger;
  /** Seed of the reconnect jitter (draw one per process, so a fleet does not retry in step). */
  readonly seed?: number;
  /** A connected stream with no message for this long is stale (ms, default 30,000). */
  readonly staleAfterMs?: number;
  /** REST polling period while the stream is down (ms, default 5,000). */
  readonly pollIntervalMs?: number;
  /** REST catch-up of fills period while the stream is up (ms, default 15,000). */
  readonly reconcileIntervalMs?: number;
  /** How long a connection attempt may wait for its first tick (ms, default 15,000). */
  readonly connectTimeoutMs?: number;
  readonly backoff?: Partial<BackoffOptions>;
  /** Use the WebSocket watches where the exchange has them (default true); false polls REST only. */
  readonly streams?: boolean;
  readonly now?: () => number;
  /** No price at all (stream or REST) for this long makes the session unhealthy on /health (ms, default 60,000). */
  readonly noPriceUnhealthyAfterMs?: number;
  /** Where spans are recorded (default: the process's, defaultTracePort()). */
  readonly tracer?: TracePort;
}

/** What /health and the logs say about the stream. */
export interface SessionStatus {
  readonly state: 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'polling';
  readonly lastError: string | null;
  readonly attempt: number;
  readonly lastTickAt: number | null;
}

type ConnectionActor = Actor<typeof exchangeConnectionMachine>;

/** REST catch-ups after each connection, ms after it: they cover the private subscription's start. */
const SETTLING_CATCH_UPS_MS = [1_000, 3_000];

/** How many trade ids are remembered for de-duplication (far more than one catch-up returns). */
const SEEN_LIMIT = 20_000;

export class ExchangeSession implements ExchangePort {
  private readonly exchange: StreamingExchange;
  private readonly logger: Logger;
  private readonly tracer: TracePort;
  /** The exchange.reconnect span of the streams' outage under way. */
  private outage: TraceSpan | undefined;
  /** Connection attempts made during the outage under way. */
  private outageAttempts = 0;
  private readonly now: () => number;
  private readonly pollIntervalMs: number;
  private readonly reconcileIntervalMs: number;
  private readonly connectTimeoutMs: number;
  private readonly listeners = new Set<(event: ExchangeEvent) => void>();
  private readonly ticks = new TickBoard();
  private readonly seenTrades = new Set<string>();
  private readonly watermarks: Map<string, number>;
  private readonly connection: ConnectionActor | undefined;
  /** Bumped whenever the sockets are given up: watches of an older generation end quietly. */
  private generation = 0;
  private running = false;
  private polling = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private pollWake: (() => void) | undefined;
  private reconcileTimers: NodeJS.Timeout[] = [];
  private catchingUp: Promise<void> | undefined;
  private lastState: SessionStatus['state'] = 'disconnected';
  private readonly failureListeners = new Set<(error: unknown) => void>();
  private readonly reconnectListeners = new Set<(exchange: string) => void>();
  /** The stream was up once in this session: its next `connected` is a reconnect. */
  private everConnected = false;
  /** When a price last arrived, by our clock (the session's start until the first one). */
  private lastPriceAt = 0;

  constructor(private readonly options: ExchangeSessionOptions) {
    this.exchange = options.exchange;
    this.logger = moduleLogger(options.logger ?? silentLogger, 'exchange');
    this.tracer = options.tracer ?? defaultTracePort();
    this.now = options.now ?? Date.now;
    this.pollIntervalMs = options.pollIntervalMs ?? 5_000;
    this.reconcileIntervalMs = options.reconcileIntervalMs ?? 15_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
    this.watermarks = new Map(options.symbols.map((symbol) => [symbol, options.since]));
    const { ticker, own } = this.exchange.canStream;
    // Without WebSocket watches (or without own streams where they are needed, or told so) the session polls REST only.
    if (options.streams === false || !ticker || (options.own && !own)) return;
    const logic = exchangeConnectionMachine.provide({
      actors: { connect: fromPromise<ConnectOutput, ConnectInput>(() => this.tracedConnect()) },
    });
    this.connection = createActor(logic, {
      input: {
        seed: options.seed ?? 1,
        maxAttempts: 0, // a trading bot keeps trying; REST polling carries it meanwhile
        ...(options.staleAfterMs === undefined ? {} : { staleAfterMs: options.staleAfterMs }),
        ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
      },
    });
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  /** Starts polling at once and, where the exchange streams, the first connection attempt. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastPriceAt = this.now();
    if (this.connection === undefined) {
      const why = this.options.streams === false ? 'streams are turned off (exchange.streams: false)' : 'this exchange has no WebSocket streams in ccxt';
      this.logger.warn({ exchange: this.exchange.exchangeId }, `${why}: polling REST only`);
      this.lastState = 'polling';
      this.startPolling();
      return;
    }
    this.connection.subscribe({
      next: (snapshot) => this.onConnectionState(snapshot.value, snapshot.context.lastError, snapshot.context.retryDelayMs),
      error: (error) => {
        this.logger.error({ error: String(error) }, 'exchange connection actor failed');
        for (const listener of [...this.failureListeners]) listener(error);
      },
    });
    this.connection.start();
    this.onConnectionState('disconnected', null, null);
    this.connection.send({ type: 'CONNECT', at: this.now() });
  }

  /** Closes the streams and stops polling; orders on the exchange stay as they are. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.generation++;
    this.connection?.send({ type: 'DISCONNECT' });
    this.connection?.stop();
    this.endOutage('stopped');
    this.stopPolling();
    this.stopReconciling();
    await this.catchingUp;
    await this.exchange.closeStreams().catch(() => undefined);
  }

  /** The operator's retry after `failed` (a replaced key, say). */
  retry(): void {
    this.connection?.send({ type: 'RETRY', at: this.now() });
  }

  status(): SessionStatus {
    const context = this.connection?.getSnapshot().context;
    return {
      state: this.lastState,
      lastError: context?.lastError ?? null,
      attempt: context?.attempt ?? 0,
      lastTickAt: this.ticks.lastTickAt(),
    };
  }

  /** What /health shows: up while it streams or polls; `failed` (a refused key, say) is unhealthy. */
  health(): PartHealth {
    const { state, lastError, attempt, lastTickAt } = this.status();
    const detail = { attempt, lastTickAt: lastTickAt === null ? null : new Date(lastTickAt).toISOString(), ...(lastError === null ? {} : { lastError }) };
    if (state === 'failed') return { healthy: false, state, reason: `the exchange connection gave up (${lastError}): fix it and restart, or the operator's retry`, detail };
    // Reconnecting is fine while REST polling brings prices; no price at all for a minute is not.
    const silentMs = this.now() - this.lastPriceAt;
    if (this.running && silentMs > (this.options.noPriceUnhealthyAfterMs ?? 60_000)) {
      return { healthy: false, state, reason: `no price from the exchange for ${Math.round(silentMs / 1000)} s (stream ${state}${lastError === null ? '' : `: ${lastError}`}; REST polling gets none either)`, detail };
    }
    return { healthy: true, state, detail };
  }

  /**
   * /health's websocket component: `connected` while the stream is up. Its status follows the
   * session's health: a stream that is down while REST polling still brings prices is healthy (not
   * connected); `failed`, or no price at all for a minute, is not. REST polling alone by design
   * (exchange.streams: false, or no WebSocket in ccxt) is `disabled`.
   */
  websocket(): WebsocketHealth {
    const connected = this.lastState === 'connected';
    if (this.lastState === 'polling') return { status: 'disabled', connected, reason: 'REST polling only: exchange.streams is false, or ccxt has no WebSocket for this exchange' };
    const health = this.health();
    if (!health.healthy) return { status: 'unhealthy', connected, ...(health.reason === undefined ? {} : { reason: health.reason }) };
    return { status: 'healthy', connected };
  }

  /** Told with the exchange id each time the stream comes back after it was lost (not on its first connection). */
  onReconnect(listener: (exchange: string) => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  /** Told when the session's connection actor fails (a bug): the supervisor restarts the session. */
  onFailure(listener: (error: unknown) => void): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  // ---- market data ------------------------------------------------------------------------------

  lastTick(symbol: string): Tick | undefined {
    return this.ticks.lastTick(symbol);
  }

  /** Every tick of every symbol, from the stream or from polling. Returns the unsubscribe function. */
  onTick(listener: (tick: Tick) => void): () => void {
    return this.ticks.onTick(listener);
  }

  /** The current tick of `symbol`, waiting for the first one if none has come yet. */
  firstTick(symbol: string, signal?: AbortSignal): Promise<Tick> {
    return this.ticks.firstTick(symbol, signal);
  }

  // ---- the exchange port --------------------------------------------------------------------------

  loadMarket: ExchangePort['loadMarket'] = (symbol) => this.exchange.loadMarket(symbol);
  createLimitOrder: ExchangePort['createLimitOrder'] = (request) => this.exchange.createLimitOrder(request);
  createMarketOrder: ExchangePort['createMarketOrder'] = (request) => this.exchange.createMarketOrder(request);
  cancelOrder: ExchangePort['cancelOrder'] = (clientOrderId, symbol) => this.exchange.cancelOrder(clientOrderId, symbol);
  fetchOrderByClientId: ExchangePort['fetchOrderByClientId'] = (clientOrderId, symbol) => this.exchange.fetchOrderByClientId(clientOrderId, symbol);
  fetchOpenOrders: ExchangePort['fetchOpenOrders'] = (symbol) => this.exchange.fetchOpenOrders(symbol);
  fetchFills: ExchangePort['fetchFills'] = (symbol, since, clientIds) => this.exchange.fetchFills(symbol, since, clientIds);
  fetchBalance: ExchangePort['fetchBalance'] = () => this.exchange.fetchBalance();

  /** The own-order stream: each fill once, and order updates while the stream is up. */
  subscribe(listener: (event: ExchangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Asks REST for every symbol's fills since its watermark and delivers the new ones. */
  catchUp(): Promise<void> {
    if (!this.options.own) return Promise.resolve();
    this.catchingUp ??= (async () => {
      for (const symbol of this.options.symbols) {
        try {
          for (const fill of await this.exchange.fetchFills(symbol, this.watermarks.get(symbol))) {
            if (fill.timestamp > (this.watermarks.get(symbol) ?? 0)) this.watermarks.set(symbol, fill.timestamp);
            this.deliverFill(fill);
          }
        } catch (error) {
          this.logger.warn({ symbol, error: errorText(error) }, 'fill catch-up failed; it is tried again');
        }
      }
    })().finally(() => (this.catchingUp = undefined));
    return this.catchingUp;
  }

  // ---- internals ----------------------------------------------------------------------------------

  private deliverFill(fill: Fill): void {
    if (fill.timestamp < this.options.since || this.seenTrades.has(fill.tradeId)) return;
    this.seenTrades.add(fill.tradeId);
    if (this.seenTrades.size > SEEN_LIMIT) this.seenTrades.delete(this.seenTrades.values().next().value!);
    this.emit({ type: 'fill', fill });
  }

  private emit(event: ExchangeEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private deliverTick(tick: Tick): void {
    this.lastPriceAt = this.now();
    this.ticks.tell(tick);
  }

  /** One connection attempt, an exchange.connect span (the outage's child while the streams are down). */
  private async tracedConnect(): Promise<ConnectOutput> {
    if (!this.tracer.enabled) return this.connect();
    const attempt = (this.connection?.getSnapshot().context.attempt ?? 0) + 1;
    if (this.outage) this.outageAttempts++;
    const span = this.tracer.start('exchange.connect', { [ATTR.exchange]: this.exchange.exchangeId, [ATTR.attempt]: attempt, [ATTR.reason]: this.outage ? 'reconnect' : 'start' }, this.outage ?? null);
    try {
      // Not made the active span: the watch and polling loops this attempt starts outlive it (their lines would carry its ids for ever).
      const connected = await this.connect();
      span.end();
      return connected;
    } catch (error) {
      span.end(error);
      throw error;
    }
  }

  /** Ends the outage's span: the streams are up again, failed, or the session stopped. */
  private endOutage(outcome: 'connected' | 'failed' | 'stopped', error?: string | null): void {
    const outage = this.outage;
    if (outage === undefined) return;
    this.outage = undefined;
    outage.setAttributes({ [ATTR.outcome]: outcome, [ATTR.attempt]: this.outageAttempts });
    outage.end(outcome === 'failed' ? (error ?? 'failed') : undefined);
  }

  /** The connection machine's `connect` actor: see the header. */
  private async connect(): Promise<ConnectOutput> {
    const generation = ++this.generation;
    await this.exchange.closeStreams().catch(() => undefined);
    try {
      for (const symbol of this.options.symbols) await this.exchange.loadMarket(symbol);
      const firstTicks = this.options.symbols.map(
        (symbol) =>
          new Promise<void>((resolve, reject) => {
            let first = true;
            this.watch(generation, `${symbol} ticker`, () => this.exchange.watchTick(symbol), (tick) => {
              this.deliverTick(tick);
              if (first) resolve();
              first = false;
            }, reject);
          }),
      );
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ExchangeError('retryable', `no ticker within ${this.connectTimeoutMs} ms`, 'STALE')), this.connectTimeoutMs);
      });
      await Promise.race([Promise.all(firstTicks), timeout]).finally(() => clearTimeout(timer));
      if (this.options.own) {
        for (const symbol of this.options.symbols) {
          this.watch(generation, `${symbol} own orders`, () => this.exchange.watchOwnOrders(symbol), (orders) => {
            for (const order of orders) this.emit({ type: 'order', order });
          });
          this.watch(generation, `${symbol} own fills`, () => this.exchange.watchOwnFills(symbol), (fills) => {
            for (const fill of fills) this.deliverFill(fill);
          });
        }
        await this.catchUp();
      }
      return { at: this.now() };
    } catch (error) {
      if (generation === this.generation) this.generation++;
      const kind = error instanceof ExchangeError && error.kind === 'auth' ? 'auth' : 'transient';
      throw new ConnectError(kind, errorText(error), this.now());
    }
  }

  /**
   * Runs one watch loop of `generation`: each update is a MESSAGE, then handled. A rejection ends
   * the loop: before the first update it fails the attempt (`onFirstError`), after it the stream
   * is lost. Loops of an older generation end quietly (their sockets were closed on purpose).
   */
  private watch<T>(generation: number, name: string, next: () => Promise<T>, handle: (value: T) => void, onFirstError?: (error: unknown) => void): void {
    void (async () => {
      let updates = 0;
      while (this.running && generation === this.generation) {
        let value: T;
        try {
          value = await next();
        } catch (error) {
          if (!this.running || generation !== this.generation) return;
          if (updates === 0 && onFirstError) return onFirstError(error);
          this.streamLost(name, error);
          return;
        }
        if (!this.running || generation !== this.generation) return;
        updates++;
        this.connection?.send({ type: 'MESSAGE', at: this.now() });
        handle(value);
      }
    })();
  }

  private streamLost(name: string, error: unknown): void {
    this.generation++;
    const reason = `${name}: ${errorText(error)}`;
    if (error instanceof ExchangeError && error.kind === 'auth') this.connection?.send({ type: 'AUTH_FAILED', reason });
    else this.connection?.send({ type: 'CONNECTION_LOST', reason, at: this.now() });
  }

  /** Carries out the connection machine's state: streams or polling. */
  private onConnectionState(value: unknown, lastError: string | null, retryDelayMs: number | null): void {
    const state = value as SessionStatus['state'];
    if (state === this.lastState || !this.running) return;
    const previous = this.lastState;
    this.lastState = state;
    const exchange = this.exchange.exchangeId;
    if (state === 'connected') {
      this.endOutage('connected');
      this.stopPolling();
      this.startReconciling();
      this.logger.info({ exchange, symbols: this.options.symbols, own: this.options.own }, 'exchange streams up');
      if (this.everConnected) for (const listener of [...this.reconnectListeners]) listener(exchange);
      this.everConnected = true;
      return;
    }
    this.stopReconciling();
    if (previous === 'connected' || previous === 'connecting') {
      // The attempt or session is over: its sockets go, its watches end quietly.
      this.generation++;
      void this.exchange.closeStreams().catch(() => undefined);
    }
    this.startPolling();
    if (previous === 'connected' && this.tracer.enabled) {
      this.outageAttempts = 0;
      this.outage = this.tracer.start('exchange.reconnect', { [ATTR.exchange]: exchange, 'btcbot.reconnect.cause': lastError ?? 'unknown' }, null);
    }
    // Loud once when the streams go down; each failed retry after that is detail.
    if (state === 'reconnecting') {
      const log = previous === 'connected' ? this.logger.warn.bind(this.logger) : this.logger.debug.bind(this.logger);
      log({ exchange, reason: lastError, retryInMs: retryDelayMs }, previous === 'connected' ? `exchange streams down, polling REST every ${this.pollIntervalMs} ms` : 'exchange streams: reconnect failed, retrying');
    }
    if (state === 'failed') this.endOutage('failed', lastError);
    if (state === 'failed') this.logger.error({ exchange, reason: lastError }, 'exchange streams failed (credentials refused?): polling REST only until retried');
  }

  /**
   * Polls now, then pollIntervalMs after each poll ends (not on a fixed beat: every request waits
   * its turn in ccxt's rate limiter, and a beat faster than the polls would queue them up ahead of
   * the order requests).
   */
  private startPolling(): void {
    if (this.polling) return;
    this.polling = true;
    const loop = async (): Promise<void> => {
      while (this.polling && this.running) {
        await this.pollOnce();
        if (!this.polling || !this.running) return;
        await new Promise<void>((resolve) => {
          this.pollWake = resolve;
          this.pollTimer = setTimeout(resolve, this.pollIntervalMs);
        });
      }
    };
    void loop();
  }

  private stopPolling(): void {
    this.polling = false;
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.pollWake?.();
    this.pollWake = undefined;
  }

  private async pollOnce(): Promise<void> {
    for (const symbol of this.options.symbols) {
      try {
        const tick = await this.exchange.fetchTick(symbol);
        if (this.running && this.lastState !== 'connected') this.deliverTick(tick);
      } catch (error) {
        this.logger.warn({ symbol, error: errorText(error) }, 'price poll failed; it is tried again');
      }
    }
    await this.catchUp();
  }

  private startReconciling(): void {
    if (!this.options.own || this.reconcileTimers.length > 0) return;
    const catchUp = (): void => void this.catchUp();
    this.reconcileTimers = [...SETTLING_CATCH_UPS_MS.map((ms) => setTimeout(catchUp, ms)), setInterval(catchUp, this.reconcileIntervalMs)];
  }

  private stopReconciling(): void {
    for (const timer of this.reconcileTimers) clearTimeout(timer);
    this.reconcileTimers = [];
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
