// Restart to reconciled: how long a live bot (`btcbot run`, embedded PGlite) killed with SIGKILL
// takes from its process start to trading again, against `btcbot exchange-sim` (no faults),
// (a) with nothing to catch up, (b) with 10 fills made while it was down (the simulator's price
// walked across 10 resting orders). Prints min / median / max and where the time goes (the
// start-up's log lines); asserts nothing. Targets (issue 9): < 2 s for (a), < 3 s for (b).
// Run: npm run build && node bench/recovery.mjs (BENCH_RUNS restarts of each, default 5)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCli } from './cli-process.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 5);
const work = mkdtempSync(path.join(tmpdir(), 'btcbot-bench-recovery-'));

const RECOVERED = 'grid recovered: reconciled with the exchange, trading';
/** The start-up's log lines, in the order they come, and what is done by then. */
const MILESTONES = [
  ['btcbot running', 'node, the config'],
  ['!!!!!!!!!!!! LIVE TRADING', 'ccxt loaded'],
  ['database ready', 'the database opened and migrated'],
  ['exchange streams up', 'the streams connected'],
  [RECOVERED, 'reconciled'],
];
// 21 levels 500 apart around the simulator's 50,000: walking 50,000 -> 45,000 fills the 10
// buys below, walking back fills the 10 counter-sells the recovery placed.
const GRID = { lower: 45_000, upper: 55_000, levels: 21 };
const ORDERS = GRID.levels - 1;
const FAR_SIDE = { 50000: 45_000, 45000: 50_000 };



const sim = startCli(['exchange-sim', '--port', '0', '--state', path.join(work, 'sim-state.json')]);
let simUrl;
while (!(simUrl = / on (http:\/\/127\.0\.0\.1:\d+)/.exec(sim.stdout())?.[1])) await sleep(20);
const simRequest = async (method, endpoint) => (await fetch(`${simUrl}${endpoint}`, { method })).json();
const openOrders = async () => (await simRequest('GET', '/__sim/orders')).filter((order) => order.status === 'open').length;

const config = path.join(work, 'bench.yaml');
writeFileSync(config, `grids:\n  - id: bench1\n    symbol: BTC/USDT\n    lower: ${GRID.lower}\n    upper: ${GRID.upper}\n    levels: ${GRID.levels}\n    quantityPerLevel: 0.001\n`);
const botEnv = {
  TRADING_MODE: 'live',
  EXCHANGE_URL: simUrl,
  EXCHANGE_ID: '',
  EXCHANGE_API_KEY: `k-${randomBytes(6).toString('hex')}`,
  EXCHANGE_API_SECRET: `s-${randomBytes(6).toString('hex')}`,
  CONFIRM_LIVE_TRADING: 'yes',
  DATABASE_URL: '',
  DATA_DIR: path.join(work, 'data'),
};
const startBot = () => startCli(['run', '--config', config, '--log-level', 'info'], botEnv);

/** Waits until the grid's orders all rest on the simulator (one empty level). */
async function settled() {
  const deadline = Date.now() + 60_000;
  while ((await openOrders()) !== ORDERS) {
    if (Date.now() > deadline) throw new Error(`the grid's ${ORDERS} orders are not all open after 60 s`);
    await sleep(100);
  }
}

async function kill(bot) {
  bot.child.kill('SIGKILL');
  await bot.exited;
}

let bot = startBot();
await bot.waitFor('grid started on the exchange');
await settled();

/** Restarts the bot `runs` times, `whileDown` run between the kill and the restart; each restart's figures. */
async function restarts(whileDown) {
  const results = [];
  for (let i = 0; i < runs; i++) {
    await kill(bot);
    await whileDown();
    bot = startBot();
    const recovered = await bot.waitFor(RECOVERED);
    const milestones = MILESTONES.map(([prefix]) => bot.lines.find((line) => line.msg.startsWith(prefix))?.time - bot.spawnedAt);
    results.push({ spawnToRecovered: recovered.time - bot.spawnedAt, ms: recovered.ms, caughtUpFills: recovered.caughtUpFills, milestones });
    await settled();
  }
  return results;
}

const nothingToCatchUp = await restarts(async () => {});
let price = 50_000;
const tenFills = await restarts(async () => {
  const before = (await simRequest('GET', '/__sim/fills')).length;
  price = FAR_SIDE[price];
  await simRequest('POST', `/__sim/step?target=${price}`);
  const made = (await simRequest('GET', '/__sim/fills')).length - before;
  if (made !== ORDERS / 2) throw new Error(`walking to ${price} made ${made} fills, not ${ORDERS / 2}`);
});

bot.child.kill('SIGTERM');
await bot.exited;
sim.child.kill('SIGTERM');
await sim.exited;
rmSync(work, { recursive: true, force: true });

const spread = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `min ${sorted[0]}  median ${sorted[Math.floor(sorted.length / 2)]}  max ${sorted.at(-1)} ms`;
};
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
// The machine's load beside the figures: on a shared machine they follow it.
console.log(`node ${process.version}, ${runs} restarts each after SIGKILL, embedded PGlite, btcbot exchange-sim on loopback`);
console.log(`load average ${loadavg()[0].toFixed(1)} (1 min) on ${availableParallelism()} cores\n`);
for (const [name, results, target] of [
  ['(a) nothing to catch up', nothingToCatchUp, 2_000],
  ['(b) 10 fills made while down', tenFills, 3_000],
]) {
  console.log(`${name}: caught-up fills ${results.map((result) => result.caughtUpFills).join(', ')}; target < ${target} ms`);
  console.log(`  process start to "grid recovered"   ${spread(results.map((result) => result.spawnToRecovered))}`);
  console.log(`  its ms (the reconcile)              ${spread(results.map((result) => result.ms))}`);
  console.log('  median ms from process start to:');
  MILESTONES.forEach(([prefix, what], i) => console.log(`    ${String(median(results.map((result) => result.milestones[i]))).padStart(6)}  ${prefix.replace(/^!+ /, '')} (${what})`));
  console.log();
}
