// Live trading: every configured grid places real orders through the exchange session (live
// mode, or demo mode on an exchange's sandbox) until the abort signal (SIGTERM / SIGINT).
//
// The exchange's market filters (price step, amount step, min notional) replace each grid's
// configured `market` first (the exchange's are the ones it enforces; a difference is logged).
// Then each grid runs as a supervised child (grid-service.ts) under one supervisor: a grid whose
// actors crash is restarted, through recovery, with backoff; one that keeps crashing is given up
// (its orders stay resting, the error is logged, the status line says so). A grid whose first
// launch fails (a user error: leftover orders, no funds) stops the run with its message.
// On stop the orders stay resting (recovered at the next start), or with shutdown.cancelOrders
// they are cancelled first, within 5 s.
import type { StorePort } from '../adapters/store/port.js';
import type { Logger } from '../adapters/telemetry/logger.js';
import type { GridConfig } from '../config/grid-config.js';
import type { GiveUpReason } from '../machines/supervisor.machine.js';
import type { startGridRuntime, GridRuntime } from './grid-runtime.js';
import { GridService, retryRetryable, withExchangeFilters, type LiveGridReport, type LiveSession } from './grid-service.js';
import { startSupervisor } from './supervisor.js';

export type { LiveGridReport, LiveSession } from './grid-service.js';

export interface LiveTradingOptions {
  readonly grids: readonly GridConfig[];
  readonly session: LiveSession;
  readonly store: StorePort;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** How long an order request may stay unanswered before it is looked up (ms). */
  readonly submitTimeoutMs?: number;
  /** How often each grid's status line is logged (ms, default 60,000): what it is doing, at a glance in Loki. */
  readonly statusIntervalMs?: number;
  /** Told of each grid runtime once it trades (after each restart too). */
  readonly onStarted?: (grid: GridConfig, runtime: GridRuntime) => void;
  /** On stop, cancel every grid's orders first (capped at 5 s in all), instead of leaving them resting. */
  readonly cancelOrdersOnStop?: boolean;
  /** Makes a grid's actors (tests wrap it to crash one). */
  readonly startRuntime?: typeof startGridRuntime;
}

const CANCEL_ON_STOP_MS = 5_000;

/** Starts every grid, runs until `signal` aborts, stops the actors (orders stay resting) and reports. */
export async function runLiveTrading(options: LiveTradingOptions): Promise<Map<string, LiveGridReport>> {
  const { session, logger, signal } = options;
  const configs: GridConfig[] = [];
  for (const grid of options.grids) {
    const market = await retryRetryable(() => session.loadMarket(grid.symbol), `${grid.id}: market`, logger, signal);
    configs.push(withExchangeFilters(grid, market, logger));
  }
  const services = new Map<string, GridService>();
  let gaveUp: GiveUpReason | undefined;
  const supervisor = startSupervisor(
    {
      id: 'grids',
      children: configs.map((config) => ({
        id: config.id,
        systemId: `grid:${config.id}`,
        start: ({ restarts }) => {
          if (restarts > 0) logger.warn({ grid: config.id, restarts }, 'restarting the grid from its saved state');
          const service = new GridService({ ...options, config });
          services.set(config.id, service);
          return service;
        },
      })),
    },
    {
      logger,
      onGiveUp: (reason) => {
        gaveUp = reason;
        logger.error({ reason }, 'a grid kept failing: supervision gave up on it; its orders stay resting on the exchange');
      },
    },
  );
  try {
    // The first launches: a failure here is the user's to fix (or the exchange's): it ends the run.
    for (const config of configs) await services.get(config.id)!.ready;
    const logStatus = (): void => {
      const stream = session.status();
      for (const [grid, service] of services) {
        const report = service.report();
        if (report === undefined) continue;
        const { openOrders, ...figures } = report;
        logger.info({ grid, ...figures, openOrders: Object.keys(openOrders).length, stream: stream.state, streamError: stream.lastError, supervision: gaveUp ? 'gave up' : 'ok' }, 'grid status');
      }
    };
    const statusTimer = setInterval(logStatus, options.statusIntervalMs ?? 60_000);
    try {
      if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    } finally {
      clearInterval(statusTimer);
    }
    if (options.cancelOrdersOnStop) {
      // Docker waits 10 s before SIGKILL: the cancels get 5 s, whatever is left stays resting (and is recovered).
      const deadline = Date.now() + CANCEL_ON_STOP_MS;
      for (const [grid, service] of services) {
        const done = await service.cancelOrders(Math.max(0, deadline - Date.now()));
        logger.info({ grid, done }, done ? 'orders cancelled on stop' : 'not every order could be cancelled in time: the rest stays resting');
      }
    }
    const reports = new Map<string, LiveGridReport>();
    for (const [grid, service] of services) {
      const report = service.report();
      if (report) reports.set(grid, report);
    }
    return reports;
  } finally {
    supervisor.stop();
  }
}
