// `btcbot run --config FILE`: the configured grids as a long-running process, until SIGTERM or
// SIGINT (Docker and Watchtower send SIGTERM). A first signal stops the feed, lets the actors
// settle, logs each grid's report and exits 0; a second signal exits at once.
import { loadServiceConfig } from '../config/service-config.js';
import { parseCommandArgs } from './command-args.js';
import { logFlagOptions, loggerFromFlags } from './log-flags.js';
import { runTradingMode } from './trading-modes.js';
import { UsageError } from './usage-error.js';

const help = `usage: btcbot run --config FILE [options]

  --config FILE     service configuration, YAML or JSON: mode, feed, grids (or one grid)
  --log-level L     debug, info (default), warn, error or silent; logs go to stderr
  --log-format F    json (default, for Loki) or text

Modes (TRADING_MODE overrides the file's mode):
  paper  each grid on its own paper exchange, prices from feed.data (a candle file) replayed
         at feed.speed candles per second, or generated candles; no keys
  demo   live prices from exchange.id (no keys), orders matched by a paper exchange; with
         exchange.sandbox: true, test orders on the exchange's sandbox (needs sandbox keys)
  live   real orders; needs EXCHANGE_API_KEY and EXCHANGE_API_SECRET (or their _FILE forms)
         and CONFIRM_LIVE_TRADING=yes (or confirmLiveTrading: true)

Live mode (and demo on a sandbox) writes every order ahead to the database and recovers from a
crash at its next start: DATABASE_URL (postgres://...), else an embedded database in
database.dataDir (env DATA_DIR, default ./data).

Environment: TRADING_MODE, EXCHANGE_ID, EXCHANGE_URL (replaces every REST and WebSocket base
URL of the exchange, e.g. a simulator), CONFIRM_LIVE_TRADING, EXCHANGE_API_KEY[_FILE],
EXCHANGE_API_SECRET[_FILE], DATABASE_URL, DATA_DIR.
`;

export async function run(args: string[]): Promise<number> {
  const values = parseCommandArgs(
    args,
    {
      config: { type: 'string' },
      ...logFlagOptions({ level: 'info', format: 'json' }),
    },
    help,
  );
  if (values === undefined) return 0;
  if (values.config === undefined) throw new UsageError(`--config FILE is required\n\n${help}`);
  const logger = loggerFromFlags(values);

  const config = await loadServiceConfig(values.config);

  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) {
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(130);
    }
    const cancels = config.shutdown.cancelOrders && config.mode !== 'paper' && !(config.mode === 'demo' && !config.exchange.sandbox);
    logger.info({ signal }, cancels ? 'stopping: cancelling the orders (shutdown.cancelOrders), reports follow' : 'stopping: orders stay resting, reports follow');
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    logger.info({ mode: config.mode, grids: config.grids.map((g) => g.id), ...(config.mode === 'paper' ? { speed: config.feed.speed } : { exchange: config.exchange.id }) }, 'btcbot running');
    const reports = await runTradingMode({ config, logger, signal: stop.signal, env: process.env });
    for (const [grid, report] of reports) logger.info({ grid, report }, 'grid report');
    return 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    exitSoon();
  }
}

/**
 * Ends the process shortly after run() returns or throws, unless it ends by itself first.
 *
 * Why: a stopped run must end even when a library leaves a timer or socket behind. It happened:
 * ccxt pro's bingx schedules its listen-key keep-alive (59 minutes) with a bare setTimeout that
 * exchange.close() cannot cancel, and `btcbot run` in live mode hung after SIGTERM (Docker would
 * SIGKILL it after its stop timeout) and after a refused start. CcxtExchange now unrefs and
 * clears those timers itself (trackDelayedCalls); this stays as the safety net for the next one.
 *
 * By the time this runs, every actor and the session are stopped and the reports are logged
 * (pino writes to fd 2 synchronously, stderr pipes are synchronous on Linux). The timer is
 * unref'd: a process with nothing left pending (paper mode) exits at once as before; otherwise
 * it fires after main.ts has set process.exitCode (0, or 2 with the error message written) and
 * process.exit() exits with that code.
 */
function exitSoon(): void {
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
}

/** How long a stopped run may take to end by itself before exitSoon() ends it. */
const EXIT_GRACE_MS = 500;
