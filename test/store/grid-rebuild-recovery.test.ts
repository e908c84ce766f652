// A grid whose saved snapshot is of another machine version is rebuilt from its event journal, on
// the Postgres store: the embedded PGlite (always) and a real server when TEST_DATABASE_URL is
// set (a schema of its own). The grid runs as in live mode (GridService) on a paper exchange
// standing in for the exchange session; it fills, stops, fills more while nobody listens, its saved
// machine_version is overwritten, and the next start rebuilds it from the journal: nothing is
// placed twice, each counter-order is placed once, and the books (grid, store, exchange) agree
// with a run that was never interrupted. Also the journal's store contract on both backends.
import { describe, expect, test } from 'vitest';
import { rebuildFromJournal } from '../../src/actors/recovery/grid-rebuild.js';
import { startGridRuntime, type GridRuntime } from '../../src/actors/grid/grid-runtime.js';
import { GridService } from '../../src/actors/trading/grid-service.js';
import type { PaperExchange } from '../../src/adapters/exchange/paper-exchange.js';
import type { Database } from '../../src/adapters/store/database.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import { PostgresStore } from '../../src/adapters/store/postgres-store.js';
import { createLogger, silentLogger } from '../../src/adapters/telemetry/logger.js';
import { ConfigError } from '../../src/config/config-error.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import { GRID_MACHINE_VERSION } from '../../src/machines/grid.machine.js';
import { paperExchangeAt50k } from '../support/paper-exchange.js';
import { paperSession } from '../support/paper-session.js';
import { storeBackends, useMigratedStore } from '../support/store-backends.js';
import { useTempDir } from '../support/temp-dir.js';
import { until } from '../support/until.js';

// Levels 48,000 49,000 50,000 51,000 52,000; started at 50,000: buys at 48k and 49k, sells at 51k and 52k.
const config = parseGridConfig({ id: 'rb', symbol: 'BTC/USDT', lower: 48_000, upper: 52_000, levels: 5, quantityPerLevel: 0.01 });


const openIds = (exchange: PaperExchange) =>
  exchange
    .allOrders()
    .filter((order) => order.status === 'open')
    .map((order) => order.clientOrderId)
    .sort();
const slotIds = (runtime: GridRuntime) =>
  runtime.actor
    .getSnapshot()
    .context.slots.flatMap((slot) => (slot ? [slot.clientOrderId] : []))
    .sort();

const temp = useTempDir('btcbot-rebuild-');
const backends = storeBackends(() => temp.path('pglite'), 'btcbot_rebuild');

for (const backend of backends) {
  describe(`rebuild from the journal, PostgresStore on ${backend.name}`, () => {
    let database: Database;
    let store: PostgresStore;
    useMigratedStore(backend, config, (opened) => ({ database, store } = opened));

    test('the journal: appended in order (batches too), once per (run, seq), numbers and payloads exact', async () => {
      const intent = { clientOrderId: 'bbrb_1b1', symbol: 'BTC/USDT', side: 'buy', type: 'limit', price: 49_000.1, amount: 1e-7, level: 1 };
      await store.appendEvents('rb', [{ run: 'a', seq: 0, type: 'START', payload: { price: 0.1 + 0.2 } }]);
      const batch = [
        { run: 'a', seq: 0, type: 'START', payload: { price: 0.1 + 0.2 } }, // retried after a lost answer
        ...Array.from({ length: 30 }, (_, i) => ({ run: 'a', seq: i + 1, type: 'ORDER.FILLED', payload: { intent, filled: i / 3, averagePrice: 49_000.1, fee: 1 / 7 } })),
      ];
      await store.appendEvents('rb', batch);
      await store.appendEvents('rb', [{ run: 'b', seq: 0, type: 'PAUSE', payload: {} }]);
      const journal = await store.journal('rb');
      expect(journal).toEqual([
        { type: 'START', payload: { price: 0.30000000000000004 }, position: { run: 'a', seq: 0 } },
        ...batch.slice(1).map(({ run, seq, type, payload }) => ({ type, payload, position: { run, seq } })),
        { type: 'PAUSE', payload: {}, position: { run: 'b', seq: 0 } },
      ]);
      // The tail after a position: what a snapshot saved there does not reflect.
      expect((await store.journalAfter('rb', { run: 'a', seq: 29 }))!.map((entry) => entry.position)).toEqual([{ run: 'a', seq: 30 }, { run: 'b', seq: 0 }]);
      expect(await store.journalAfter('rb', { run: 'b', seq: 0 })).toEqual([]);
      expect(await store.journalAfter('rb', { run: 'c', seq: 0 })).toBeUndefined();
      expect(await store.journal('other')).toEqual([]);
    });

    test('a journal that lost events is not rebuilt from: an order of the grid on the exchange it does not know refuses the start, nothing is sent', async () => {
      const exchange = paperExchangeAt50k();
      const { session, sent } = paperSession(exchange);
      const start = (): GridService => {
        const service = new GridService({ config, session, store, logger: silentLogger, signal: new AbortController().signal });
        service.start();
        return service;
      };
      const first = start();
      await first.ready;
      await until(() => openIds(exchange).length === 4, 'the grid to rest', 20_000);
      // The buy at 49,000 fills: its counter-sell at 50,000 goes out.
      while (exchange.step(48_500));
      await until(() => exchange.openOrderCount.sell === 3, 'the counter-sell', 20_000);
      first.stop();
      await first.settled();
      // The journal loses that fill (as a crash's lost tail would), and the build changes.
      await database.sql`DELETE FROM events WHERE id = (SELECT max(id) FROM events WHERE grid_id = 'rb' AND type = 'ORDER.FILLED')`;
      await database.sql`UPDATE grids SET machine_version = ${GRID_MACHINE_VERSION + 1} WHERE id = 'rb'`;
      const placedBefore = sent.length;
      const second = start();
      await expect(second.ready).rejects.toThrow(ConfigError);
      await expect(second.ready).rejects.toThrow(/grid rb: rebuilt from its event journal, but 1 of its open order\(s\) on the exchange are not in the rebuilt grid \(bbrb_2s\d+ sell 0\.01 @ 50000\)/);
      expect(sent.length).toBe(placedBefore);
      second.stop();
    }, 60_000);

    test('a snapshot of another machine version: rebuilt from the journal, nothing placed twice, counter-orders once, books agree', async () => {
      const exchange = paperExchangeAt50k();
      const { session, sent } = paperSession(exchange);
      const logs: Array<Record<string, unknown>> = [];
      const logger = createLogger({ format: 'json', level: 'info', write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
      const runtimes: GridRuntime[] = [];
      const launch = async (): Promise<GridService> => {
        const service = new GridService({ config, session, store, logger, signal: new AbortController().signal, onStarted: (_, runtime) => runtimes.push(runtime) });
        service.start();
        await service.ready;
        return service;
      };

      // A run that was never interrupted, on its own exchange, walks the same prices.
      const reference = paperExchangeAt50k();
      const referenceRuntime = startGridRuntime({ config, exchange: reference, store: new MemoryStore() });
      referenceRuntime.send({ type: 'START', price: 50_000 });
      const walk = async (target: number, settled: () => boolean, what: string): Promise<void> => {
        while (reference.step(target)) await until(() => referenceRuntime.orders.size === openIds(reference).length, `${what} (reference)`);
        await until(settled, what, 20_000);
      };

      try {
        // First run: rests, a buy fills (counter-sell), that sell fills (counter-buy: a round trip).
        const first = await launch();
        await until(() => openIds(exchange).length === 4, 'the grid to rest', 20_000);
        while (exchange.step(48_500));
        await walk(48_500, () => openIds(exchange).length === 4 && exchange.openOrderCount.sell === 3, 'the counter-sell at 50,000');
        while (exchange.step(50_500));
        await walk(50_500, () => openIds(exchange).length === 4 && exchange.openOrderCount.buy === 2, 'the counter-buy at 49,000');
        await until(() => slotIds(runtimes[0]!).join() === openIds(exchange).join(), 'the grid to settle');
        await runtimes[0]!.journalFlushed();
        first.stop();

        // While nobody listens both buys fill; the snapshot is then of "another build".
        while (exchange.step(47_500));
        await walk(47_500, () => exchange.openOrderCount.buy === 0, 'the buys to fill');
        await database.sql`UPDATE grids SET machine_version = ${GRID_MACHINE_VERSION + 41} WHERE id = 'rb'`;
        const placedBefore = sent.length;

        const second = await launch();
        const message = `grid rb: saved state is machine version ${GRID_MACHINE_VERSION + 41}, this build is ${GRID_MACHINE_VERSION}: rebuilt from the journal`;
        expect(logs.some((line) => String(line['msg']).startsWith(message) && line['level'] === 40)).toBe(true);
        // The two counter-sells (at 49,000 and 50,000), placed once each; nothing else.
        await until(() => exchange.openOrderCount.sell === 4, 'the counter-sells of the fills made while down', 20_000);
        expect(sent.slice(placedBefore).sort()).toEqual(['bbrb_1s3', 'bbrb_2s2']);
        // Saved again as this build's snapshot.
        expect((await store.gridSnapshot('rb'))?.machineVersion).toBe(GRID_MACHINE_VERSION);

        // Trading on: the sell at 49,000 fills, its counter-buy at 48,000 is placed once.
        while (exchange.step(49_500));
        await walk(49_500, () => exchange.openOrderCount.buy === 1 && exchange.openOrderCount.sell === 3, 'the counter-buy at 48,000');
        const runtime = runtimes[1]!;
        await until(() => slotIds(runtime).join() === openIds(exchange).join(), 'the rebuilt grid to settle');

        // Nothing placed twice: every client id sent once, none refused as a duplicate.
        expect(new Set(sent).size).toBe(sent.length);
        expect(exchange.allOrders().length).toBe(sent.length);
        // The books agree: grid slots = open on the exchange = open in the store; every fill stored once.
        const { context } = runtime.actor.getSnapshot();
        expect(context.stats.skippedOrders).toBe(0);
        const storedOpen = (await store.orders('rb')).filter((order) => order.status === 'open' || order.status === 'intent').map((order) => order.clientOrderId).sort();
        expect(storedOpen).toEqual(openIds(exchange));
        expect((await store.fills('BTC/USDT')).map((fill) => fill.tradeId).sort()).toEqual((await exchange.fetchFills('BTC/USDT')).map((fill) => fill.tradeId).sort());
        // ... and with the run that was never interrupted.
        const uninterrupted = referenceRuntime.actor.getSnapshot().context;
        expect(context.slots).toEqual(uninterrupted.slots);
        expect(context.cycles).toEqual(uninterrupted.cycles);
        expect(context.position).toBeCloseTo(uninterrupted.position, 12);
        expect(context.stats).toEqual(uninterrupted.stats);
        expect(openIds(exchange)).toEqual(openIds(reference));
        expect(exchange.wallet).toEqual(reference.wallet);

        // The journal goes on across the rebuild: replayed now, it gives the grid as it is.
        await runtime.journalFlushed();
        const again = rebuildFromJournal(await store.journal('rb'))!;
        expect((again.snapshot.grid as unknown as { context: unknown }).context).toEqual(context);
        expect(again.restartOrders.map((order) => order.input.intent.clientOrderId).sort()).toEqual([...runtime.orders.keys()].sort());
        second.stop();
      } finally {
        referenceRuntime.stop();
        for (const runtime of runtimes) runtime.stop();
      }
    }, 90_000);
  });
}
