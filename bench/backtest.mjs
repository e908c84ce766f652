// Backtest throughput: the whole `btcbot backtest` process against a plain loop over the same
// file (parse + the spec's candle walk with no actors: test/reference/grid-reference.ts).
// Prints figures; asserts nothing (this machine is noisy). Run: npm run bench
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const { generateCandles, writeCandlesCsv } = await import(path.join(root, 'dist/adapters/feed/candle-generator.js'));
const work = path.join(tmpdir(), 'btcbot-bench');
mkdirSync(work, { recursive: true });
const runs = Number(process.env.BENCH_RUNS ?? 3);

// Children run on this Node (its directory first on PATH, for the bin's shebang) and report
// their peak RSS through bench/rss-hook.mjs.
const childEnv = {
  ...process.env,
  PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}`,
  NODE_OPTIONS: `--import=${path.join(root, 'bench/rss-hook.mjs')}`,
};

/** Runs `command args` `runs` times; the fastest run's wall time, peak RSS and stdout. */
function timeProcess(command, args) {
  let best;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const child = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, env: childEnv });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (child.status !== 0) throw new Error(`${args.join(' ')} failed:\n${child.stderr}`);
    const rssMb = Number(/maxrss (\d+)/.exec(child.stderr)[1]) / 1024;
    if (!best || seconds < best.seconds) best = { seconds, rssMb, stdout: child.stdout };
  }
  return best;
}

function gridFor(name, lows, highs) {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < lows.length; i++) {
    if (lows[i] < min) min = lows[i];
    if (highs[i] > max) max = highs[i];
  }
  const config = { symbol: 'BTC/USDT', lower: Math.floor(min * 0.95), upper: Math.ceil(max * 1.05), levels: 100, investment: 10000 };
  const file = path.join(work, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  return { file, config };
}

const cases = [];
const yearFile = path.join(work, 'generated-525600.csv');
const year = generateCandles({ count: 525_600, startPrice: 60_000, seed: 7 });
if (!existsSync(yearFile)) writeCandlesCsv(year, yearFile);
cases.push({ name: 'generated year, 525,600 x 1m', data: yearFile, grid: gridFor('year', year.low, year.high) });

const real = path.resolve(root, '../shared/data/binance_btcusdt_1m_2025-05-20_2025-08-18.csv');
if (existsSync(real)) {
  const { readCandleFile } = await import(path.join(root, 'dist/adapters/feed/candle-csv.js'));
  const series = readCandleFile(real);
  cases.push({ name: 'real BTC/USDT 2025-05..08, 1m', data: real, grid: gridFor('real', series.low, series.high) });
} else {
  console.log(`(skipping the real 3-month file: ${real} not found)`);
}

const plainLoop = path.join(root, 'bench/plain-loop.mjs');
console.log(`node ${process.version}, best of ${runs} runs each\n`);
for (const c of cases) {
  // The installed command itself (its shebang sets the Node flags), as a user runs it.
  const bot = timeProcess(path.join(root, 'dist/cli/main.js'), ['backtest', '--config', c.grid.file, '--data', c.data, '--json']);
  const plain = timeProcess(process.execPath, [plainLoop, c.grid.file, c.data]);
  const report = JSON.parse(bot.stdout);
  const agree = JSON.stringify(JSON.parse(plain.stdout).fills) === JSON.stringify(report.fills);
  console.log(`${c.name}: grid ${c.grid.config.levels} levels ${c.grid.config.lower}..${c.grid.config.upper}`);
  console.log(`  candles ${report.candles}, fills ${report.fills.buy + report.fills.sell}, round trips ${report.roundTrips}`);
  console.log(`  btcbot backtest  wall ${bot.seconds.toFixed(3)} s  ${Math.round(report.candles / bot.seconds).toLocaleString('en')} candles/s  peak RSS ${bot.rssMb.toFixed(0)} MB`);
  console.log(`  plain loop       wall ${plain.seconds.toFixed(3)} s  peak RSS ${plain.rssMb.toFixed(0)} MB  (fills agree: ${agree})`);
  console.log(`  ratio            ${(bot.seconds / plain.seconds).toFixed(2)}x\n`);
}
