// The kill test (issue 9): `btcbot run` in live mode (a real process, its books in the embedded
// database) trades a dense grid against `btcbot exchange-sim` replaying real 1-minute candles of
// the 2024-08-05 crash at 30 candles/s, and is killed at random moments (SIGKILL 80 %, SIGTERM
// 20 %), after lives both shorter and longer than a recovery; the simulator outlives it, as an
// exchange does. After the replay the bot starts once more, cleanly, and the books are compared
// at rest, the simulator being the judge: no client order id twice, every fill it made is in the
// store exactly once, the store's open orders are the simulator's, every order it accepted had its
// intent stored first, no start ever met open orders of the grid that its books did not know, and
// the grid kept exactly one empty level.
//
// KILL_ROUNDS sets the kills on the embedded PGlite (default 20 in the suite; `npm run test:crash`:
// 200); with TEST_DATABASE_URL the test runs again on the real Postgres, in a database of its own,
// with KILL_ROUNDS_POSTGRES kills (default 20 % as many, at least 4). The replay lasts about as
// long as the kills (the crash window, 29 hours, is replayed again when they need more than its
// 58 s at 30/s). The exchange settings are the defaults, as a user runs the bot.
//
// Then in demo mode (issue 10: stage runs what prod runs), KILL_ROUNDS_DEMO kills (default 8): the
// simulator gives the live prices, the paper exchange matches the orders and keeps its account in
// the store. The same checks, the paper account in the store being the judge.
// Needs ../shared/data (the candles): skipped without it, a failure with REQUIRE_SHARED=1.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, test } from 'vitest';
import { readCandleFile } from '../../src/adapters/feed/candle-csv.js';
import { writeCandlesCsv } from '../../src/adapters/feed/candle-generator.js';
import { allocateCandles, sliceCandles, type CandleSeries } from '../../src/adapters/feed/candles.js';
import { openDatabase, type Database } from '../../src/adapters/store/database.js';
import { PostgresStore } from '../../src/adapters/store/postgres-store.js';
import { mulberry32 } from '../../src/adapters/exchange/sim/bingx-sim-faults.js';
import { gridLevels } from '../../src/machines/grid-math.js';
import { ROOT, ensureBuilt, killChildren, liveSimEnv, spawnCli, startExchangeSim, type CliProcess, type LogLine, type SimProcess } from '../cli/cli-harness.js';
import { hasShared, sharedData, sharedSkipReason } from '../shared.js';
import { expectBooksAgree, expectWrittenAhead, type SimFill, type SimOrder } from '../support/sim-books.js';
import { useTempDir } from '../support/temp-dir.js';

const ROUNDS = Number(process.env.KILL_ROUNDS ?? 20);
/** Kills of the demo-mode run (KILL_ROUNDS_DEMO): its paper account keeps the last 200 fills, which the checks compare whole. */
const DEMO_ROUNDS = Number(process.env.KILL_ROUNDS_DEMO ?? 8);
const serverUrl = process.env.TEST_DATABASE_URL;

/** Issue 9's reproduction: candles per second of the replay. */
const SPEED = 30;
/** How long a life lasts, from its spawn or from the moment its grid trades (see the kills below). */
const SHORTEST_LIFE_MS = 300;
const LONGEST_LIFE_MS = 8_000;
/** A round's wall time on average: its life, half the time a recovery before it (~4 s), and the spawn and the exit around it. */
const ROUND_MS = (SHORTEST_LIFE_MS + LONGEST_LIFE_MS) / 2 + 4_000 / 2 + 500;
/**
 * The crash window: from 01:15 UTC on 2024-08-05, right after the crash's first plunge (58,200 to
 * 53,900 in an hour), down to 49,700 and back up to 55,700 at 06:00 the next day: a grid of
 * +-3 % around 53,900 is crossed again and again, and left on both sides. Past that the price
 * stays above such a grid for good, so a longer run replays the window again (29 hours later each
 * time, the jump from its last close back to its first open walked like any gap).
 */
const CRASH_FILE = 'binance_btcusdt_1m_2024-07-26_2024-08-25.csv';
const WINDOW_START = Date.UTC(2024, 7, 5, 1, 15);
const WINDOW_END = Date.UTC(2024, 7, 6, 6, 0);

const GRID_ID = 'kill1';
const LEVELS = 21;
const RECOVERED = 'grid recovered: reconciled with the exchange, trading';
const TRADING = [RECOVERED, 'grid started on the exchange'];
const UNKNOWN_ORDERS = "open orders with this grid's id that its books do not know";
const SKIPPED = 'order not placed, skipped';

/** Where the bot keeps its books: the embedded PGlite, and a fresh database on the real Postgres when TEST_DATABASE_URL is set. */
interface Books {
  readonly name: string;
  readonly key: string;
  /** live: the simulator is the exchange; demo: it gives the prices, the paper exchange (its account in the store) matches the orders. */
  readonly mode: 'live' | 'demo';
  readonly rounds: number;
  env(): Promise<{ DATABASE_URL: string; DATA_DIR: string }>;
  open(): Promise<Database>;
  drop?(): Promise<void>;
}

const databaseName = `btcbot_kill_${randomBytes(4).toString('hex')}`;
const books: Books[] = [
  {
    name: 'the embedded PGlite',
    key: 'pglite',
    mode: 'live',
    rounds: ROUNDS,
    env: async () => ({ DATABASE_URL: '', DATA_DIR: tmp.path('data') }),
    open: () => openDatabase({ dataDir: tmp.path('data') }),
  },
  {
    name: 'the embedded PGlite, in demo mode (live prices from the simulator, the paper exchange in the store)',
    key: 'demo',
    mode: 'demo',
    rounds: DEMO_ROUNDS,
    env: async () => ({ DATABASE_URL: '', DATA_DIR: tmp.path('data-demo') }),
    open: () => openDatabase({ dataDir: tmp.path('data-demo') }),
  },
];
if (serverUrl) {
  const url = new URL(serverUrl);
  url.pathname = `/${databaseName}`;
  books.push({
    name: `Postgres (TEST_DATABASE_URL, database ${databaseName})`,
    key: 'postgres',
    mode: 'live',
    rounds: Number(process.env.KILL_ROUNDS_POSTGRES ?? Math.max(4, Math.round(ROUNDS * 0.2))),
    env: async () => {
      const admin = await openDatabase({ url: serverUrl });
      await admin.sql.unsafe(`CREATE DATABASE ${databaseName}`);
      await admin.close();
      return { DATABASE_URL: url.toString(), DATA_DIR: tmp.path('unused') };
    },
    open: () => openDatabase({ url: url.toString() }),
    drop: async () => {
      const admin = await openDatabase({ url: serverUrl });
      await admin.sql.unsafe(`DROP DATABASE IF EXISTS ${databaseName}`);
      await admin.close();
    },
  });
}
const tmp = useTempDir('btcbot-kill-');
afterAll(() => killChildren());

/** `count` candles of the crash window, repeated as often as that takes. */
function crashWindow(count: number): CandleSeries {
  const all = readCandleFile(sharedData(CRASH_FILE));
  const window = sliceCandles(all, all.time.findIndex((time) => time >= WINDOW_START), all.time.findIndex((time) => time >= WINDOW_END));
  const candles = allocateCandles(count);
  const span = window.time[window.length - 1]! - window.time[0]! + 60_000;
  for (let i = 0; i < count; i++) {
    const from = i % window.length;
    candles.time[i] = window.time[from]! + Math.floor(i / window.length) * span;
    for (const column of ['open', 'high', 'low', 'close', 'volume'] as const) candles[column][i] = window[column][from]!;
  }
  return candles;
}

/** Waits until the simulator's open orders have not changed for 3 s: the fills caught up and their counter-orders placed. */
async function atRest(sim: SimProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let open = '';
  let since = Date.now();
  while (Date.now() - since < 3_000) {
    if (Date.now() > deadline) throw new Error(`the simulator's open orders still change after ${timeoutMs} ms`);
    await sleep(500);
    const now = JSON.stringify((await sim.get<SimOrder[]>('/__sim/orders')).filter((order) => order.status === 'open').map((order) => order.clientOrderId));
    if (now !== open) [open, since] = [now, Date.now()];
  }
}

/** Waits until `bot` has logged no fill for `ms` (demo mode at rest: the prices stopped, the counter-orders placed). */
async function quietFor(bot: CliProcess, ms: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const fills = (): number => bot.lines.filter((line) => / filled at /.test(line.msg)).length;
  let seen = fills();
  let since = Date.now();
  while (Date.now() - since < ms) {
    if (Date.now() > deadline) throw new Error(`the bot still logs fills after ${timeoutMs} ms`);
    await sleep(250);
    if (fills() !== seen) [seen, since] = [fills(), Date.now()];
  }
}

/** Demo mode's exchange: the paper account as the store keeps it, in the simulator's shapes. */
async function paperAccountBooks(database: Database): Promise<{ orders: SimOrder[]; fills: SimFill[] }> {
  const [row] = await database.sql<Array<{ state: { exchange: { orders: SimOrder[]; fills: SimFill[] } } }>>`SELECT state FROM paper_accounts WHERE id = 'paper:BTC/USDT'`;
  expect(row, 'the paper account in the store').toBeDefined();
  const { orders, fills } = row!.state.exchange;
  // The account keeps its last 200 fills and closed orders: the checks compare whole books only below that.
  expect(fills.length, 'fewer fills than the paper account keeps (lower KILL_ROUNDS_DEMO)').toBeLessThan(200);
  expect(orders.filter((order) => order.status !== 'open').length, 'fewer closed orders than the paper account keeps').toBeLessThan(200);
  return { orders, fills };
}

/** One life of the bot: the process and when it was spawned. */
interface Life {
  readonly bot: CliProcess;
  readonly spawnedAt: number;
}

/** The log lines of every life whose message starts with `msg`. */
function linesOf(lives: readonly Life[], msg: string): LogLine[] {
  return lives.flatMap((life) => life.bot.lines.filter((line) => line.msg.startsWith(msg)));
}

/** min / median / max of `values`, for the figures. */
function spread(values: readonly number[]): string {
  if (values.length === 0) return 'none';
  const sorted = [...values].sort((a, b) => a - b);
  return `min ${sorted[0]} ms, median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms (${sorted.length})`;
}

describe.skipIf(!hasShared)(hasShared ? 'kill test on real candles (../shared/data)' : `kill test: SKIPPED, ${sharedSkipReason}`, () => {
  describe.each(books)('on $name: SIGKILL and SIGTERM at random moments, restart each time', (book) => {
    afterAll(() => book.drop?.());
    test(
      `${book.rounds} kills: no duplicate or unknown order, every fill stored once, the store equals the exchange, one empty level`,
      async () => {
        ensureBuilt();
        const candles = crashWindow(Math.ceil(((book.rounds * ROUND_MS) / 1000) * SPEED));
        const csv = tmp.path(`candles-${book.key}.csv`);
        writeCandlesCsv(candles, csv);
        const sim = await startExchangeSim(['--port', '0', '--data', csv, '--speed', String(SPEED), '--quote', '10000', '--state', tmp.path(`sim-state-${book.key}.json`)]);
        // A dense grid: 21 levels 0.3 % apart, from 3 % below to 3 % above the first open.
        const firstOpen = candles.open[0]!;
        const lower = Math.round(firstOpen * 0.97);
        const upper = Math.round(firstOpen * 1.03);
        const levels = gridLevels({ lower, upper, levels: LEVELS, spacing: 'arithmetic', market: { priceStep: 0.01, amountStep: 0.00001, minNotional: 5 } });
        const config = tmp.file(
          `kill-${book.key}.yaml`,
          `grids:\n  - id: ${GRID_ID}\n    symbol: BTC/USDT\n    lower: ${lower}\n    upper: ${upper}\n    levels: ${LEVELS}\n    investment: 3000\n`,
        );
        const env = { ...liveSimEnv(sim.url), ...(book.mode === 'demo' ? { TRADING_MODE: 'demo' } : {}), ...(await book.env()) };
        const random = mulberry32(2026);
        const lives: Life[] = [];
        const live = (): Life => {
          const life = { spawnedAt: Date.now(), bot: spawnCli(['run', '--config', config, '--log-level', 'info'], env) };
          lives.push(life);
          return life;
        };

        let sigterms = 0;
        let killedTrading = 0;
        for (let round = 0; round < book.rounds; round++) {
          const { bot } = live();
          // Half the lives are clocked from the spawn: killed in start-up, in the recovery or soon
          // after. The other half from the moment the grid trades: killed while trading, however
          // long a recovery takes on this machine (3 s quiet, 8 s and more on a loaded one). The
          // first life is of the second kind: a first start's initdb (4-12 s) outlasts most lives,
          // and a start killed during it begins anew.
          if (round === 0 || random() < 0.5) await bot.waitFor((line) => TRADING.includes(line.msg), 'the grid trading', 60_000);
          await sleep(SHORTEST_LIFE_MS + random() * (LONGEST_LIFE_MS - SHORTEST_LIFE_MS));
          if (bot.lines.some((line) => TRADING.includes(line.msg))) killedTrading++;
          if (random() < 0.2) {
            sigterms++;
            bot.terminate();
          } else bot.child.kill('SIGKILL');
          const exit = await bot.exited;
          expect(exit.code === null || exit.code === 0, `round ${round}: exit ${JSON.stringify(exit)}\n${bot.output().slice(-2_000)}`).toBe(true);
        }

        // After the replay, one clean start: it recovers, places what the fills made meanwhile call for, and stops at rest.
        while (!((await sim.get<{ replay?: { done: boolean } }>('/__sim/price')).replay?.done ?? true)) await sleep(500);
        const last = live().bot;
        await last.waitFor((line) => TRADING.includes(line.msg), 'the grid trading', 30_000);
        if (book.mode === 'live') await atRest(sim);
        else await quietFor(last, 3_000);
        last.terminate();
        expect((await last.exited).code, last.output().slice(-2_000)).toBe(0);

        // Every life's log, for what the checks below find: kept after the run (the temp dir is not).
        const logFile = path.join(ROOT, 'test-results', `kill-recovery-${book.key}.log`);
        mkdirSync(path.dirname(logFile), { recursive: true });
        writeFileSync(logFile, lives.map((life, i) => `=== life ${i}, spawned at ${life.spawnedAt}\n${life.bot.output()}`).join('\n'));
        const { price } = await sim.get<{ price: number }>('/__sim/price');
        const simBooks = book.mode === 'live' ? { orders: await sim.get<SimOrder[]>('/__sim/orders'), fills: await sim.get<SimFill[]>('/__sim/fills') } : undefined;
        sim.process.terminate();
        const database = await book.open();
        try {
          // Demo mode's exchange is the paper account in the store: it judges, as the simulator does in live mode.
          const { orders: simOrders, fills: simFills } = simBooks ?? (await paperAccountBooks(database));
          const store = new PostgresStore(database.sql);
          const unknownOrders = linesOf(lives, UNKNOWN_ORDERS).flatMap((line) => line['orders'] as string[]);
          // "Exactly one empty level" (the spec's counter-order rule) at rest: every open order of
          // the grid on the simulator sits on one of its levels, and exactly one level has none.
          // It holds outside the range too (past the top every sell has filled and the top level is
          // the empty one; below the bottom, the bottom one). Where that level is needs no check:
          // resting buys are below the price and sells above it, and expectBooksAgree checks that
          // buys are below sells. It holds only while no order was refused (funds short: the
          // simulator holds 10,000 USDT for a grid of 3,000, so that would itself be a fault), seen
          // in the logs (a kill can lose the line) and in the store (a kill can lose the update).
          const refused = [
            ...linesOf(lives, SKIPPED).map((line) => `${String(line['clientOrderId'])}: ${line.msg}`),
            ...(await store.orders(GRID_ID)).filter((order) => order.status === 'rejected').map((order) => `${order.clientOrderId} rejected`),
          ];
          const open = simOrders.filter((order) => order.status === 'open' && order.clientOrderId.startsWith(`bb${GRID_ID}_`));
          const atLevel = new Set(open.map((order) => order.price.toFixed(2)));
          const emptyLevels = levels.filter((level) => !atLevel.has(level.toFixed(2)));
          const offLevel = open.filter((order) => !levels.some((level) => level.toFixed(2) === order.price.toFixed(2)));
          const recoveries = lives.flatMap((life) =>
            life.bot.lines.filter((line) => line.msg === RECOVERED).map((line) => ({ fromSpawn: Number(line['time']) - life.spawnedAt, ms: Number(line['ms']) })),
          );
          console.log(
            `kill test on ${book.name}: ${book.rounds} kills (${book.rounds - sigterms} SIGKILL, ${sigterms} SIGTERM; ${killedTrading} after the grid traded, ` +
              `${book.rounds - killedTrading} during start-up or recovery), ${candles.length} candles at ${SPEED}/s, grid ${levels[0]}..${levels.at(-1)} x ${LEVELS}, last price ${price}; ` +
              `${simOrders.length} orders, ${simFills.length} fills, ${unknownOrders.length} unknown orders logged, ${emptyLevels.length} empty levels at rest ` +
              `(${emptyLevels.join(', ')}), ${refused.length} orders refused; process start to "grid recovered": ` +
              `${spread(recoveries.map((recovery) => recovery.fromSpawn))}; its ms: ${spread(recoveries.map((recovery) => recovery.ms))}; every life's log in ${logFile}`,
          );
          // Every check reports (soft), so that one run shows all that went wrong.
          expect.soft(unknownOrders, 'open orders of the grid that its books did not know, at a start').toEqual([]);
          expect.soft(offLevel.map((order) => `${order.clientOrderId} ${order.side} @ ${order.price}`), 'open orders off the grid').toEqual([]);
          if (refused.length === 0) {
            // A fill reported out of price order can find its counter-order's level still held: the
            // counter waits (the grid's report lists it) and its level stays empty meanwhile. Every
            // fill is answered by one order, placed or waiting: none lost is one empty level plus one per waiting order.
            const waiting = (linesOf([lives.at(-1)!], 'grid report').at(-1)?.['report'] as { waitingOrders?: string[] } | undefined)?.waitingOrders ?? [];
            expect
              .soft(emptyLevels, `exactly one empty level at rest, and one more per waiting counter-order (${waiting.join(', ') || 'none'}); open: ${open.map((order) => `${order.side}@${order.price}`).join(' ')}`)
              .toHaveLength(1 + waiting.length);
          }
          await expect.soft(expectBooksAgree(simOrders, simFills, store, GRID_ID, 'BTC/USDT'), 'the store equals the exchange').resolves.toBeUndefined();
          await expect.soft(expectWrittenAhead(simOrders, database.sql), 'written ahead').resolves.toBeUndefined();
          expect(simFills.length, 'the replay made the grid trade').toBeGreaterThan(10);
        } finally {
          await database.close();
        }
      },
      book.rounds * 15_000 + 180_000,
    );
  });
});
