// `btcbot run --config FILE`: the configured grids as a long-running process, until SIGTERM or
// SIGINT (Docker and Watchtower send SIGTERM), with /health and /metrics served on http.host:port.
//
// Graceful shutdown, within 8 s (Docker's default stop timeout is 10 s): a first signal stops new
// intents (the actors stop), lets the store's last writes finish, cancels the orders first if
// shutdown.cancelOrders says so (4 s at most) or leaves them resting, logs each grid's report,
// flushes telemetry (1 s at most) and exits 0. A second signal exits at once (130). A shutdown
// still not done after 7.5 s exits 1 with a warning: what was cut short is recovered at the next
// start, as after a crash.
import { HealthBoard } from '../actors/supervision/health.js';
import type { LiveTradingOptions } from '../actors/trading/live-trading.js';
import { createHttpApp } from '../adapters/http/http-app.js';
import { startHttpServer, type HttpServer } from '../adapters/http/http-server.js';
import { moduleLogger, type Logger } from '../adapters/telemetry/logger.js';
import { createMetrics } from '../adapters/telemetry/metrics.js';
import { startTelemetry, type Telemetry } from '../adapters/telemetry/telemetry.js';
import { createNotifier } from '../adapters/notify/notifier.js';
import { apiToken } from '../config/api-token.js';
import { secretFromEnv } from '../config/env-secret.js';
import { exchangeCredentials } from '../config/exchange-credentials.js';
import { loadServiceConfig, type ServiceConfig } from '../config/service-config.js';
import { buildVersion } from '../config/version.js';
import type { GridControl } from '../domain/grid-control.js';
import { parseCommandArgs } from './shared/command-args.js';
import { logFlagOptions, loggerFromFlags } from './shared/log-flags.js';
import { runTradingMode } from './trading-modes.js';
import { UsageError } from '../config/usage-error.js';

const help = `usage: btcbot run --config FILE [options]

  --config FILE     service configuration, YAML or JSON: mode, feed, grids (or one grid)
  --log-level L     debug, info (default), warn, error or silent (env LOG_LEVEL; the flag wins); logs go to stderr
  --log-format F    json (default, for Loki) or text

Endpoints (http.host:http.port, env HTTP_HOST / HTTP_PORT, default 127.0.0.1:8080):
  GET /health       status, version, components (database, websocket, exchange_api), the grids,
                    every actor's state; 200 when all are healthy, else 503
  GET /metrics      Prometheus metrics (trades, positions, pnl, orders, exchange latency, actor
                    states, restarts, process); docs/telemetry.md lists them
  /api/v1/...       the control API: grids, fills, pause / resume / stop / start
                    (docs/control-api.md); on only with API_TOKEN (or API_TOKEN_FILE)
Traces go to OTEL_EXPORTER_OTLP_ENDPOINT when it is set (Grafana Tempo).

Modes (TRADING_MODE overrides the file's mode), all on the same supervised runtime:
  paper  the paper exchange walks feed.data (a candle file) at feed.speed candles per second,
         or generated candles; no keys; a restart resumes at the candle where it stopped
  demo   live prices from exchange.id (no keys), orders matched by the paper exchange; with
         exchange.sandbox: true, test orders on the exchange's sandbox (needs sandbox keys)
  live   real orders; needs EXCHANGE_API_KEY and EXCHANGE_API_SECRET (or their _FILE forms)
         and CONFIRM_LIVE_TRADING=yes (or confirmLiveTrading: true)

Every mode writes every order ahead to the database, and paper and demo keep the paper
exchange's account there too, so a restart (a crash, SIGKILL, an image update) continues the
same account and grid: DATABASE_URL[_FILE] (postgres://...), else an embedded database in
database.dataDir (env DATA_DIR, default ./data).

Logs: JSON lines carry app, environment, module and, while a span is active, trace_id /
span_id; LOG_LEVEL sets the level when --log-level is not given.

Environment: ENVIRONMENT (dev, stage, prod: a label on /health, metrics and logs), GIT_SHA or
BUILD_SHA (the build's commit, in /health's version), LOG_LEVEL, TRADING_MODE, EXCHANGE_ID, EXCHANGE_URL (replaces every REST and WebSocket base
URL of the exchange, e.g. a simulator), CONFIRM_LIVE_TRADING, EXCHANGE_API_KEY[_FILE],
EXCHANGE_API_SECRET[_FILE], DATABASE_URL[_FILE], DATA_DIR, API_TOKEN[_FILE]; notifications:
docs/notifications.md.
`;

export async function run(args: string[]): Promise<number> {
  const values = parseCommandArgs(
    args,
    {
      config: { type: 'string' },
      ...logFlagOptions({ format: 'json' }),
    },
    help,
  );
  if (values === undefined) return 0;
  if (values.config === undefined) throw new UsageError(`--config FILE is required\n\n${help}`);
  const flagsLogger = loggerFromFlags(values, 'info');

  const config = await loadServiceConfig(values.config);
  // Every line carries the deployment's environment (and app: btcbot); each part binds its module.
  const logger = flagsLogger.child({ environment: config.environment });
  const token = apiToken(process.env);

  // Checked before anything starts: a half-configured target is a config error (exit 2).
  const notifier = createNotifier(process.env, { logger, environment: config.environment });
  const metrics = createMetrics({ environment: config.environment });
  const telemetry = await startTelemetry({ serviceName: process.env.OTEL_SERVICE_NAME || 'btcbot', env: process.env, logger, metrics });
  const health = new HealthBoard({ version: buildVersion(process.env), environment: config.environment, trading_mode: config.mode });
  metrics.trackHealth(() => health.report());
  let http: HttpServer | undefined;
  // The running grids' control, for the control API: set by the trading mode while its tree runs.
  let control: GridControl | undefined;

  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) {
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(130);
    }
    logger.info({ signal }, config.shutdown.cancelOrders ? 'stopping: cancelling the orders (shutdown.cancelOrders), reports follow' : 'stopping: orders stay resting, reports follow');
    setTimeout(() => {
      logger.warn({ afterMs: SHUTDOWN_DEADLINE_MS }, 'shutdown is taking too long: exiting now; whatever was cut short is recovered at the next start');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    http = await serveEndpoints(config, health, telemetry, logger, { token, control: () => control }, secretsOf(process.env, token));
    logger.info({ mode: config.mode, grids: config.grids.map((g) => g.id), ...(config.mode === 'paper' ? { speed: config.feed.speed } : { exchange: config.exchange.id }) }, 'btcbot running');
    const reports = await runTradingMode({
      config,
      logger,
      signal: stop.signal,
      env: process.env,
      health,
      supervision: runHooks(telemetry, (given) => (control = given)),
      notifier,
    });
    for (const [grid, report] of reports) moduleLogger(logger, 'grid').info({ grid, report }, 'grid report');
    return 0;
  } finally {
    // The signal handlers stay until the process ends: a second signal that comes after the run
    // ended (while telemetry flushes, say) still exits at once with 130, not killed by the signal.
    await http?.close();
    await notifier.close(NOTIFY_FLUSH_MS);
    const flushed = await telemetry.shutdown(TELEMETRY_FLUSH_MS);
    if (flushed === 'flushed') logger.debug({}, 'telemetry flushed');
    exitSoon();
  }
}

/**
 * The tree's hooks: telemetry's; the metrics as the observer of the grids' figures, trades,
 * reconnects and store writes; and onControl (the control API's grids).
 */
function runHooks(telemetry: Telemetry, onControl: (control: GridControl | undefined) => void): Pick<LiveTradingOptions, 'onRestart' | 'onGiveUp' | 'trackSupervisor' | 'observe' | 'onControl'> {
  return { onRestart: telemetry.onRestart, onGiveUp: telemetry.onGiveUp, trackSupervisor: (root) => telemetry.metrics.trackSupervisor(root), observe: telemetry.metrics, onControl };
}

/** Serves /health, /metrics and the control API when http.enabled; logs where. */
async function serveEndpoints(
  config: ServiceConfig,
  health: HealthBoard,
  telemetry: Telemetry,
  logger: Logger,
  api: { readonly token: string | undefined; readonly control: () => GridControl | undefined },
  secrets: readonly string[],
): Promise<HttpServer | undefined> {
  if (!config.http.enabled) {
    if (api.token !== undefined) logger.warn({}, 'API_TOKEN is set but http.enabled is false: the control API is not served');
    return undefined;
  }
  const app = createHttpApp({ health: () => health.report(), metrics: telemetry.metrics, secrets, api: { ...api, logger } });
  const server = await startHttpServer(app, config.http.host, config.http.port);
  moduleLogger(logger, 'http').info({ url: server.url, port: server.port }, `serving ${server.url}/health and ${server.url}/metrics`);
  if (api.token === undefined) moduleLogger(logger, 'http').info({}, 'the control API (/api/v1) is off: set API_TOKEN (or API_TOKEN_FILE) to turn it on');
  else moduleLogger(logger, 'http').info({ url: `${server.url}/api/v1` }, `serving the control API on ${server.url}/api/v1 (bearer token)`);
  return server;
}

/** Values that must never appear on /health: the API keys, the database password, the control API's token. */
function secretsOf(env: NodeJS.ProcessEnv, token: string | undefined): string[] {
  const secrets: string[] = token === undefined ? [] : [token];
  try {
    const credentials = exchangeCredentials(env);
    if (credentials !== undefined) secrets.push(credentials.apiKey, credentials.secret);
  } catch {
    // a credentials error is the trading mode's to report
  }
  try {
    const databaseUrl = secretFromEnv(env, 'DATABASE_URL');
    if (databaseUrl !== undefined) {
      const password = decodeURIComponent(new URL(databaseUrl).password);
      if (password !== '') secrets.push(password, databaseUrl);
    }
  } catch {
    // not a URL, or an unreadable file: the config or the store reports it
  }
  return secrets;
}

/** A shutdown still under way this long after the first signal is cut short (Docker kills at 10 s). */
const SHUTDOWN_DEADLINE_MS = 7_500;
/** The longest the last notifications may take to go out on stop (a coalesced batch of fills, say). */
const NOTIFY_FLUSH_MS = 1_000;
/** The longest the last spans may take to reach the collector on stop. */
const TELEMETRY_FLUSH_MS = 1_000;

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
