// `btcbot run --config FILE`: the configured grids as a long-running process, until SIGTERM or
// SIGINT (Docker and Watchtower send SIGTERM). A first signal stops the feed, lets the actors
// settle, logs each grid's report and exits 0; a second signal exits at once.
import { runPaperTrading } from '../actors/paper-trading.js';
import { ConfigError } from '../config/config-error.js';
import { loadServiceConfig } from '../config/service-config.js';
import { loadCandles } from './candle-source.js';
import { parseCommandArgs } from './command-args.js';
import { logFlagOptions, loggerFromFlags } from './log-flags.js';
import { UsageError } from './usage-error.js';

const help = `usage: btcbot run --config FILE [options]

  --config FILE     service configuration, YAML or JSON: mode, feed, grids (or one grid)
  --log-level L     debug, info (default), warn, error or silent; logs go to stderr
  --log-format F    json (default, for Loki) or text

Environment: TRADING_MODE (paper, demo, live) overrides the file's mode.
Paper mode trades each grid on its own paper exchange against feed.data (a candle file)
replayed at feed.speed candles per second, or generated candles.
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
  if (config.mode !== 'paper') {
    throw new ConfigError(
      `mode ${config.mode} cannot run in this build yet: the exchange's own-order stream and the trading modes are still being built; use mode paper (TRADING_MODE=paper)`,
    );
  }
  const { data, candles: count, seed } = config.feed;
  const candles = loadCandles(config.grids[0]!, { data, count, seed }, (line) => logger.info({}, line.trim()));

  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) {
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(130);
    }
    logger.info({ signal }, 'stopping: orders stay resting, reports follow');
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    logger.info({ mode: config.mode, grids: config.grids.map((g) => g.id), speed: config.feed.speed }, 'btcbot running');
    const reports = await runPaperTrading({ grids: config.grids, candles, speed: config.feed.speed, logger, signal: stop.signal });
    for (const [grid, report] of reports) logger.info({ grid, report }, 'grid report');
    return 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
