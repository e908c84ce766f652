// `btcbot backtest --config FILE [--data FILE] [--json]`: one grid over candles, on the paper
// exchange, through the same grid and order actors as the live modes.
import { runBacktest, type BacktestReport } from '../actors/backtest/backtest.js';
import type { CandleSeries } from '../adapters/feed/candles.js';
import { loadGridConfig } from '../config/load-config.js';
import type { GridConfig } from '../config/grid-config.js';
import { loadCandles } from './shared/candle-source.js';
import { parseCommandArgs } from './shared/command-args.js';
import { logFlagOptions, loggerFromFlags } from './shared/log-flags.js';
import { UsageError } from '../config/usage-error.js';

const help = `usage: btcbot backtest --config FILE [--data FILE] [options]

  --config FILE     grid configuration, YAML or JSON (one grid, or a service config)
  --grid ID         which grid of a service config to run (when it names several)
  --data FILE       candles: CSV with header timestamp,open,high,low,close,volume,
                    or Binance kline CSV; without it, generated candles are used
  --candles N       how many generated 1-minute candles (default 1440, one day)
  --seed N          seed of the generated candles (default 1)
  --json            print only the report, as one JSON object, on stdout
  --log-level L     debug, info, warn (default), error or silent (env LOG_LEVEL; the flag wins); logs go to stderr
  --log-format F    text (default) or json
`;

function positiveInteger(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive integer, got "${value}"`);
  return n;
}

/** A progress bar on stderr, drawn only when stderr is a terminal. */
function progressBar(total: number): { update(done: number): void; clear(): void } {
  if (!process.stderr.isTTY) return { update() {}, clear() {} };
  const width = 30;
  return {
    update(done) {
      const filled = Math.round((done / total) * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${((done / total) * 100).toFixed(0).padStart(3)}% ${done}/${total} candles`);
    },
    clear() {
      process.stderr.write('\r\x1b[2K');
    },
  };
}

const money = (x: number) => x.toFixed(2);
const amount = (x: number) => String(Number(x.toPrecision(12)));
const percent = (x: number) => `${(x * 100).toFixed(2)}%`;
const utc = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

export function formatSummary(config: GridConfig, candles: CandleSeries, report: BacktestReport): string {
  const [base = 'base', quote = ''] = config.symbol.split('/');
  const change = report.initial.equity > 0 ? report.final.equity / report.initial.equity - 1 : 0;
  const stop = report.stopped === null ? 'no' : `${report.stopped} at ${report.stopped === 'stopLoss' ? config.stopLoss : config.takeProfit}`;
  return [
    `btcbot backtest ${config.symbol}: ${config.levels} ${config.spacing} levels ${config.lower}..${config.upper}, ${report.quantityPerLevel} per level`,
    `candles       ${report.candles} (${utc(candles.time[0]!)} .. ${utc(candles.time[candles.length - 1]!)} UTC)`,
    `price         ${report.startPrice} -> ${report.lastPrice}`,
    `fills         ${report.fills.buy} buys, ${report.fills.sell} sells, ${report.roundTrips} round trips`,
    `grid profit   ${money(report.gridProfit)} ${quote}, fees ${money(report.fees)} ${quote}, skipped orders ${report.skippedOrders}`,
    `equity        ${money(report.initial.equity)} -> ${money(report.final.equity)} ${quote} (${change >= 0 ? '+' : ''}${percent(change)}), max drawdown ${percent(report.maxDrawdown)}`,
    `wallet        ${amount(report.final.base)} ${base}, ${money(report.final.quote)} ${quote}`,
    `open orders   ${report.openOrders.buy} buys, ${report.openOrders.sell} sells`,
    `stopped       ${stop}`,
    '',
  ].join('\n');
}

export async function run(args: string[]): Promise<number> {
  const values = parseCommandArgs(
    args,
    {
      config: { type: 'string' },
      grid: { type: 'string' },
      data: { type: 'string' },
      candles: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
      ...logFlagOptions({ format: 'text' }),
    },
    help,
  );
  if (values === undefined) return 0;
  if (values.config === undefined) throw new UsageError(`--config FILE is required\n\n${help}`);
  const logger = loggerFromFlags(values, 'warn');

  const config = await loadGridConfig(values.config, values.grid);
  const stderr = (line: string) => process.stderr.write(line);
  const candles = loadCandles(config, { data: values.data, count: positiveInteger(values.candles, '--candles', 1440), seed: positiveInteger(values.seed, '--seed', 1) }, stderr);
  const bar = progressBar(candles.length);
  let report: BacktestReport;
  try {
    report = await runBacktest(config, candles, { logger, onProgress: (done) => bar.update(done) });
  } finally {
    bar.clear();
  }
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatSummary(config, candles, report));
  return 0;
}
