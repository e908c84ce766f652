// The kill test: `btcbot run` in live mode (a real process, its books in the embedded database)
// trades against `btcbot exchange-sim` replaying candles, and is killed at random moments (SIGKILL
// mostly, SIGTERM sometimes), restarting each time; the simulator outlives it, as an exchange
// does. Afterwards the simulator is the judge: no client order id twice, every fill it made is in
// the store exactly once, the store's open orders are the simulator's, and the book keeps the
// grid's shape, and every order the simulator accepted had its intent stored first. KILL_ROUNDS sets
// the number of kills (default 12 in the suite; `npm run test:crash`: 50). It runs on the embedded
// PGlite, and on the real Postgres (a database of its own, a shorter replay; KILL_ROUNDS_POSTGRES
// kills, default half as many) when TEST_DATABASE_URL is set.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, test } from 'vitest';
import { openDatabase, type Database } from '../../src/adapters/store/database.js';
import { PostgresStore } from '../../src/adapters/store/postgres-store.js';
import { generateCandles, writeCandlesCsv } from '../../src/adapters/feed/candle-generator.js';
import { mulberry32 } from '../../src/adapters/exchange/sim/bingx-sim-faults.js';
import { ensureBuilt, killChildren, liveSimEnv, spawnCli, startExchangeSim, type CliProcess } from '../cli/cli-harness.js';
import { expectBooksAgree, expectWrittenAhead, type SimFill, type SimOrder } from '../support/sim-books.js';
import { useTempDir } from '../support/temp-dir.js';

const ROUNDS = Number(process.env.KILL_ROUNDS ?? 12);
const serverUrl = process.env.TEST_DATABASE_URL;

/** Where the bot keeps its books: the embedded PGlite, and a fresh database on the real Postgres when TEST_DATABASE_URL is set. */
interface Books {
  readonly name: string;
  readonly rounds: number;
  readonly candles: number;
  env(): Promise<{ DATABASE_URL: string; DATA_DIR: string }>;
  open(): Promise<Database>;
  drop?(): Promise<void>;
}

const databaseName = `btcbot_kill_${randomBytes(4).toString('hex')}`;
const books: Books[] = [
  {
    name: 'the embedded PGlite',
    rounds: ROUNDS,
    candles: 3_000,
    env: async () => ({ DATABASE_URL: '', DATA_DIR: tmp.path('data') }),
    open: () => openDatabase({ dataDir: tmp.path('data') }),
  },
];
if (serverUrl) {
  const url = new URL(serverUrl);
  url.pathname = `/${databaseName}`;
  books.push({
    name: `Postgres (TEST_DATABASE_URL, database ${databaseName})`,
    rounds: Number(process.env.KILL_ROUNDS_POSTGRES ?? Math.max(4, Math.round(ROUNDS / 2))),
    candles: 1_500,
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

describe.each(books)('kill test on $name: SIGKILL and SIGTERM at random moments, restart each time', (book) => {
  afterAll(() => book.drop?.());
  test(
    `${book.rounds} kills: no duplicate order, every fill stored once, open orders agree, the grid keeps its shape`,
    async () => {
      ensureBuilt();
      const ROUNDS = book.rounds;
      const dir = `${book.candles}-${ROUNDS}`;
      // A long, lively replay: ~3% moves around 50,000 at 40 candles/s.
      const candles = generateCandles({ count: book.candles, startPrice: 50_000, annualVolatility: 1.2, seed: 11 });
      const csv = tmp.path(`candles-${dir}.csv`);
      writeCandlesCsv(candles, csv);
      const sim = await startExchangeSim(['--port', '0', '--data', csv, '--speed', '40', '--quote', '100000', '--state', tmp.path(`sim-state-${dir}.json`)]);
      const low = Math.min(...candles.low);
      const high = Math.max(...candles.high);
      const config = tmp.file(
        'kill.yaml',
        `exchange: { timeoutMs: 5000, staleAfterMs: 3000, pollIntervalMs: 300, reconcileIntervalMs: 1000 }\n` +
          `grids:\n  - id: kill1\n    symbol: BTC/USDT\n    lower: ${Math.floor(low * 0.99)}\n    upper: ${Math.ceil(high * 1.01)}\n    levels: 16\n    quantityPerLevel: 0.01\n`,
      );
      const env = {
        ...liveSimEnv(sim.url),
        ...(await book.env()),
      };
      const random = mulberry32(2026);
      const recoveryMs: number[] = [];
      const startBot = (): CliProcess => spawnCli(['run', '--config', config, '--log-level', 'info'], env);
      const ready = (bot: CliProcess) =>
        bot.waitFor((line) => line.msg === 'grid started on the exchange' || line.msg.startsWith('grid recovered'), 'the grid trading', 30_000);

      for (let round = 0; round < ROUNDS; round++) {
        const bot = startBot();
        const started = Date.now();
        // Half the kills land during start-up and recovery, half while trading.
        if (random() < 0.5) await sleep(200 + random() * 1_500);
        else {
          const line = await ready(bot);
          if (line.msg.startsWith('grid recovered')) recoveryMs.push(Date.now() - started);
          await sleep(random() * 2_000);
        }
        if (random() < 0.2) bot.terminate();
        else bot.child.kill('SIGKILL');
        const exit = await bot.exited;
        expect(exit.code === null || exit.code === 0, `round ${round}: exit ${JSON.stringify(exit)}\n${bot.output().slice(-2_000)}`).toBe(true);
      }

      // The last run: recover, trade to the end of the replay, settle, stop.
      const last = startBot();
      await ready(last);
      while (!((await sim.get<{ replay?: { done: boolean } }>('/__sim/price')).replay?.done ?? true)) await sleep(500);
      await sleep(4_000); // the last fills' counter-orders (reconcile every 1 s)
      last.terminate();
      expect((await last.exited).code, last.output().slice(-2_000)).toBe(0);

      const simOrders = await sim.get<SimOrder[]>('/__sim/orders');
      const simFills = await sim.get<SimFill[]>('/__sim/fills');
      const database = await book.open();
      try {
        await expectBooksAgree(simOrders, simFills, new PostgresStore(database.sql), 'kill1', 'BTC/USDT');
        await expectWrittenAhead(simOrders, database.sql);
      } finally {
        await database.close();
      }
      const sorted = [...recoveryMs].sort((a, b) => a - b);
      console.log(
        `kill test on ${book.name}: ${ROUNDS} kills, ${simOrders.length} orders, ${simFills.length} fills; process start to "reconciled and trading": ` +
          `min ${sorted[0]} ms, median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms over ${sorted.length} recoveries`,
      );
      expect(simFills.length).toBeGreaterThan(10);
    },
    600_000,
  );
});
