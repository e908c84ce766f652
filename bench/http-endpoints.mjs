// /health and /metrics under load: a live bot (`btcbot run`, embedded PGlite) trading a 21-level
// grid against `btcbot exchange-sim` (the price swung across two levels every 300 ms, so fills and
// counter-orders keep coming), each endpoint asked at a fixed rate (default 500 requests/s, open
// loop: a request is sent on its schedule whether or not the earlier ones have been answered) over
// keep-alive connections on loopback. Prints p50 / p99 / max latency and the achieved rate per
// endpoint, beside /nothing (the 404 answer: no work), the baseline of what the machine, Node's
// HTTP stack and the trading bot's event loop cost any request; asserts nothing.
// Targets: /health p99 < 5 ms, /metrics p99 < 20 ms at 500 requests/s.
// Run: npm run build && node bench/http-endpoints.mjs
//   BENCH_RATE requests/s (default 500), BENCH_SECONDS per endpoint (default 10), BENCH_DATABASE_URL:
//   a Postgres server for the bot's store (a database of its own is made for the run) instead of
//   the embedded PGlite, which runs in the bot's own thread; BENCH_WALK=0: the price stays put (no fill).
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCli } from './cli-process.mjs';

const rate = Number(process.env.BENCH_RATE ?? 500);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const work = mkdtempSync(path.join(tmpdir(), 'btcbot-bench-http-'));

const children = [];
// Whatever happens, no child outlives the bench.
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Starts `btcbot args` (startCli), killed at the end of the run. */
function start(args, env = {}) {
  const process_ = startCli(args, env);
  children.push(process_.child);
  return process_;
}

const sim = start(['exchange-sim', '--port', '0']);
let simUrl;
while (!(simUrl = / on (http:\/\/127\.0\.0\.1:\d+)/.exec(sim.stdout())?.[1])) {
  if (sim.child.exitCode !== null) throw new Error(`the simulator exited:\n${sim.lines.map((line) => line.msg).join('\n')}`);
  await sleep(20);
}

// With BENCH_DATABASE_URL, a database of its own for this run (the simulator's trade ids start at 1 every time: a store kept from an earlier run would take its fills for ones it has).
let databaseUrl = '';
let dropDatabase = async () => undefined;
if (process.env.BENCH_DATABASE_URL) {
  const { default: postgres } = await import('postgres');
  const admin = postgres(process.env.BENCH_DATABASE_URL, { max: 1, onnotice: () => undefined });
  const name = `btcbot_bench_${randomBytes(4).toString('hex')}`;
  await admin.unsafe(`create database ${name}`);
  const url = new URL(process.env.BENCH_DATABASE_URL);
  url.pathname = `/${name}`;
  databaseUrl = url.href;
  dropDatabase = async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  };
}

const config = path.join(work, 'bench.yaml');
writeFileSync(config, 'grids:\n  - id: http1\n    symbol: BTC/USDT\n    lower: 45000\n    upper: 55000\n    levels: 21\n    quantityPerLevel: 0.001\n');
const bot = start(['run', '--config', config, '--log-level', 'info'], {
  TRADING_MODE: 'live',
  EXCHANGE_URL: simUrl,
  EXCHANGE_ID: '',
  EXCHANGE_API_KEY: `k-${randomBytes(6).toString('hex')}`,
  EXCHANGE_API_SECRET: `s-${randomBytes(6).toString('hex')}`,
  CONFIRM_LIVE_TRADING: 'yes',
  DATABASE_URL: databaseUrl,
  DATA_DIR: path.join(work, 'data'),
});
const { url } = await bot.waitFor('serving ');
await bot.waitFor('grid started on the exchange');
// The grid's 20 orders rest (one level empty) before the price moves.
for (const deadline = Date.now() + 60_000; ; await sleep(100)) {
  const open = (await (await fetch(`${simUrl}/__sim/orders`)).json()).filter((order) => order.status === 'open').length;
  if (open === 20) break;
  if (Date.now() > deadline) throw new Error(`the grid's 20 orders are not all open after 60 s (${open}); the bot said:\n${bot.lines.map((line) => JSON.stringify(line)).join('\n')}`);
}

// The grid trades throughout: the price swings across the levels at 49,500 and 50,500 every 300 ms (fills and counter-orders each time).
let trading = process.env.BENCH_WALK !== '0'; // BENCH_WALK=0: the grid rests, nothing fills (the endpoints alone)
const fillsBefore = (await (await fetch(`${simUrl}/__sim/fills`)).json()).length;
const walker = (async () => {
  for (let up = true; trading; up = !up) {
    await fetch(`${simUrl}/__sim/step?target=${up ? 50_600 : 49_400}`, { method: 'POST' }).catch(() => undefined);
    await sleep(300);
  }
})();

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

let retried = 0;
/**
 * One GET; resolves with its latency (ms) and status (0: no answer). A keep-alive connection the
 * server closed as idle just as the request went out (ECONNRESET on a reused socket) is retried
 * once on a new one, as HTTP clients do; the latency counts from the first attempt.
 */
function get(endpoint, started = performance.now(), retry = true) {
  return new Promise((resolve) => {
    const request = http.get(`${url}${endpoint}`, { agent }, (response) => {
      response.resume();
      response.on('end', () => resolve({ ms: performance.now() - started, status: response.statusCode }));
    });
    request.on('error', (error) => {
      if (retry && request.reusedSocket && error.code === 'ECONNRESET') {
        retried++;
        resolve(get(endpoint, started, false));
      } else resolve({ ms: performance.now() - started, status: 0 });
    });
  });
}

/** `endpoint` at `perSecond` for `forMs`, open loop; each request's latency and status. */
async function load(endpoint, perSecond, forMs) {
  const interval = 1000 / perSecond;
  const total = Math.round((forMs / 1000) * perSecond);
  const pending = [];
  const begun = performance.now();
  let maxLagMs = 0;
  for (let i = 0; i < total; i++) {
    const due = begun + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    maxLagMs = Math.max(maxLagMs, performance.now() - due);
    pending.push(get(endpoint));
  }
  const results = await Promise.all(pending);
  const tookMs = performance.now() - begun;
  return { results, tookMs, maxLagMs };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const ms = (value) => `${value.toFixed(2)} ms`;

const store = process.env.BENCH_DATABASE_URL ? 'Postgres (BENCH_DATABASE_URL)' : 'embedded PGlite';
console.log(`http endpoints: ${rate} requests/s for ${seconds} s each, keep-alive, loopback; a live grid ${trading ? 'trading' : 'resting (BENCH_WALK=0)'} on the simulator, store ${store}`);
console.log(`node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()[0].toFixed(2)}`);
// Each endpoint gets BENCH_SECONDS in all, in 2 s turns taken in rotation, so that a stall of the bot
// (its trading, its store, the machine's other work) falls on every endpoint alike.
const endpoints = ['/nothing', '/health', '/metrics'];
for (const endpoint of endpoints) await load(endpoint, rate, 1_000); // warm-up (JIT, connections), not counted
const runs = Object.fromEntries(endpoints.map((endpoint) => [endpoint, { results: [], tookMs: 0, maxLagMs: 0 }]));
const turns = Math.max(1, Math.round(seconds / 2));
for (let turn = 0; turn < turns; turn++) {
  for (const endpoint of endpoints) {
    const { results, tookMs, maxLagMs } = await load(endpoint, rate, (seconds * 1000) / turns);
    const run = runs[endpoint];
    run.results.push(...results);
    run.tookMs += tookMs;
    run.maxLagMs = Math.max(run.maxLagMs, maxLagMs);
  }
}
const figures = {};
for (const endpoint of endpoints) {
  const { results, tookMs, maxLagMs } = runs[endpoint];
  const latencies = results.map((result) => result.ms).sort((a, b) => a - b);
  const statuses = {};
  for (const { status } of results) statuses[status] = (statuses[status] ?? 0) + 1;
  const achieved = results.length / (tookMs / 1000);
  figures[endpoint] = { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1), achieved, statuses };
  console.log(
    `  ${endpoint.padEnd(9)} p50 ${ms(percentile(latencies, 50))}  p99 ${ms(percentile(latencies, 99))}  max ${ms(latencies.at(-1))}  ` +
      `achieved ${achieved.toFixed(0)}/s (${results.length} requests; statuses ${JSON.stringify(statuses)}; sender lag max ${ms(maxLagMs)})`,
  );
}
trading = false;
await walker;
const fills = (await (await fetch(`${simUrl}/__sim/fills`)).json()).length - fillsBefore;
const problems = bot.lines.filter((line) => (line.level ?? 0) >= 40 && !line.msg.includes('LIVE TRADING')).map((line) => line.msg);
if (retried > 0) console.log(`  ${retried} request(s) retried on a new connection (a kept-alive one closed by the server as idle)`);
console.log(`  the grid meanwhile: ${fills} fills on the simulator; the bot logged ${problems.length} warnings or errors${problems.length > 0 ? `, e.g. ${JSON.stringify(problems.slice(0, 3))}` : ''}`);
console.log(`  targets: /health p99 < 5 ms (${figures['/health'].p99 < 5 ? 'met' : 'NOT met'}), /metrics p99 < 20 ms (${figures['/metrics'].p99 < 20 ? 'met' : 'NOT met'})`);

agent.destroy();
bot.child.kill('SIGTERM');
await bot.exited;
sim.child.kill('SIGTERM');
await sim.exited;
await dropDatabase();
rmSync(work, { recursive: true, force: true });
