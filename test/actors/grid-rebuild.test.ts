// The event journal's writer (in order, patient while the store is unreachable, written once after
// a lost answer, never in the trading path's way) and recovery's choice between the saved
// snapshot, a rebuild from the journal, and the refusal (src/actors/recovery/grid-rebuild.ts,
// grid-recovery.ts). The rebuild's agreement with live runs: test/property/grid-rebuild.test.ts;
// on Postgres with a restart: test/store/grid-rebuild-recovery.test.ts.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { GRID_CREATED, JOURNAL_BROKEN, startJournal } from '../../src/actors/grid/grid-journal.js';
import { rebuildFromJournal } from '../../src/actors/recovery/grid-rebuild.js';
import { savedGrid } from '../../src/actors/recovery/grid-recovery.js';
import { startGridRuntime } from '../../src/actors/grid/grid-runtime.js';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import type { JournalAppend } from '../../src/adapters/store/port.js';
import { createLogger, silentLogger } from '../../src/adapters/telemetry/logger.js';
import { ConfigError } from '../../src/config/config-error.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import { GRID_MACHINE_VERSION } from '../../src/machines/grid.machine.js';
import { paperExchangeAt50k } from '../support/paper-exchange.js';
import { until } from '../support/until.js';

const config = parseGridConfig({ id: 'jr', symbol: 'BTC/USDT', lower: 48_000, upper: 52_000, levels: 5, quantityPerLevel: 0.01 });
const unreachable = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

/** A memory store whose journal appends fail as told: before writing (down) or after (the answer lost). */
class FlakyStore extends MemoryStore {
  failures: Array<'down' | 'lostAnswer'> = [];
  calls = 0;
  override async appendEvents(gridId: string, entries: readonly JournalAppend[]): Promise<void> {
    this.calls++;
    const failure = this.failures.shift();
    if (failure === 'down') throw unreachable();
    await super.appendEvents(gridId, entries);
    if (failure === 'lostAnswer') throw unreachable();
  }
}


describe('the journal writer', () => {
  test('entries are written in order, each once, through an outage and a lost answer', async () => {
    const store = new FlakyStore();
    store.failures = ['down', 'lostAnswer', 'down'];
    const journal = startJournal('jr', store, silentLogger);
    journal.created({ config });
    journal.append({ type: 'START', price: 50_000 });
    journal.append({ type: 'PAUSE' });
    await new Promise((resolve) => setTimeout(resolve, 10));
    journal.append({ type: 'RESUME' }); // queued behind the batch that waits
    journal.append({ type: 'STOP', sellBase: true });
    await journal.flushed();
    expect(store.calls).toBeGreaterThanOrEqual(4);
    const written = await store.journal('jr');
    expect(written.map((entry) => entry.type)).toEqual([GRID_CREATED, 'START', 'PAUSE', 'RESUME', 'STOP']);
    expect(written[1]!.payload).toEqual({ price: 50_000 });
    expect(written[4]!.payload).toEqual({ sellBase: true });
  }, 20_000);

  test('data the store refuses stops the journal of the run and marks it broken', async () => {
    const store = new MemoryStore();
    let refused = false;
    const append = store.appendEvents.bind(store);
    store.appendEvents = async (gridId, entries) => {
      if (!refused && entries.some((entry) => entry.type === 'PAUSE')) {
        refused = true;
        throw Object.assign(new Error('invalid input syntax for type json'), { code: '22P02', severity: 'ERROR' });
      }
      return append(gridId, entries);
    };
    const journal = startJournal('jr', store, silentLogger);
    journal.created({ config });
    await journal.flushed();
    journal.append({ type: 'PAUSE' });
    await journal.flushed();
    journal.append({ type: 'RESUME' });
    await journal.flushed();
    expect((await store.journal('jr')).map((entry) => entry.type)).toEqual([GRID_CREATED, JOURNAL_BROKEN]);
  });

  test('the runtime journals every event the grid receives, in order; the grid does not wait for it, its orders do', async () => {
    const store = new FlakyStore();
    store.failures = ['down'];
    const exchange = paperExchangeAt50k();
    const runtime = startGridRuntime({ config, exchange, store, journal: true });
    try {
      runtime.send({ type: 'START', price: 50_000 });
      // The store is down for the journal, yet the grid acts at once; its orders wait until the
      // journal holds START (retried after 0.5 s), so a rebuild would know every one of them.
      expect(runtime.actor.getSnapshot().matches('active')).toBe(true);
      await sleep(150);
      expect(exchange.allOrders()).toEqual([]);
      await until(() => exchange.openOrderCount.buy === 2 && exchange.openOrderCount.sell === 2, 'the grid to rest');
      while (exchange.step(48_500));
      await until(() => exchange.openOrderCount.sell === 3, 'the counter-sell');
      runtime.send({ type: 'STOP' });
      await until(() => runtime.actor.getSnapshot().matches('idle'), 'the stop');
      await runtime.journalFlushed();
      const types = (await store.journal('jr')).map((entry) => entry.type);
      expect(types.slice(0, 4)).toEqual([GRID_CREATED, 'START', 'ORDER.FILLED', 'ORDER.FILLED']); // the start buy, then the buy at 49,000
      expect(types[4]).toBe('STOP');
      expect(types.slice(5).sort()).toEqual(Array(4).fill('ORDER.CANCELED')); // the buy at 48,000 and 3 sells
    } finally {
      runtime.stop();
    }
  }, 20_000);
});

describe('recovery of a snapshot of another machine version', () => {
  const snapshotOf = async (store: MemoryStore) => {
    const exchange = paperExchangeAt50k();
    const runtime = startGridRuntime({ config, exchange, store, journal: true });
    runtime.send({ type: 'START', price: 50_000 });
    await until(() => exchange.openOrderCount.buy === 2 && exchange.openOrderCount.sell === 2, 'the grid to rest');
    await runtime.journalFlushed();
    const saved = runtime.persist();
    const context = runtime.actor.getSnapshot().context;
    runtime.stop();
    return { saved, context };
  };

  test('an outcome journaled twice (re-derived by a recovery whose snapshot was behind the journal) is replayed once', async () => {
    const store = new MemoryStore();
    await snapshotOf(store);
    const journal = await store.journal('jr');
    const filled = journal.find((entry) => entry.type === 'ORDER.FILLED')!;
    const once = rebuildFromJournal(journal)!;
    const twice = rebuildFromJournal([...journal, filled])!;
    expect(twice.snapshot.grid).toEqual(once.snapshot.grid);
    expect(twice.restartOrders).toEqual(once.restartOrders);
  });

  test('the same version: the saved snapshot, as it is', async () => {
    const store = new MemoryStore();
    const { saved } = await snapshotOf(store);
    await store.saveGridSnapshot('jr', '"active"', saved, GRID_MACHINE_VERSION);
    expect(await savedGrid(config, store)).toEqual({ snapshot: saved, restartOrders: [], cancelOrders: [], rebuilt: false, replayedEvents: 0 });
  });

  test('the same version, saved before its latest events: the journal tail after the save is replayed, so every order placed since is known', async () => {
    const store = new MemoryStore();
    const exchange = paperExchangeAt50k();
    const runtime = startGridRuntime({ config, exchange, store, journal: true });
    runtime.send({ type: 'START', price: 50_000 });
    // Saved as the start buy went out: a crash before the next save loses the grid's later decisions but not the journal's.
    const early = runtime.persist();
    expect(Object.keys(early.orders)).toEqual(['bbjr_m1']);
    await until(() => exchange.openOrderCount.buy === 2 && exchange.openOrderCount.sell === 2, 'the grid to rest');
    await runtime.journalFlushed();
    const { context } = runtime.actor.getSnapshot();
    runtime.stop();
    await store.saveGridSnapshot('jr', '"active"', early, GRID_MACHINE_VERSION);

    const recovered = (await savedGrid(config, store))!;
    expect(recovered.rebuilt).toBe(false);
    expect((recovered.snapshot.grid as unknown as { context: unknown }).context).toEqual(context);
    // The start buy ended in the tail (not restored); the grid orders it led to start over from their intents.
    expect(recovered.snapshot.orders).toEqual({});
    expect(recovered.restartOrders.map((order) => order.input.intent.clientOrderId).sort()).toEqual(
      context.slots.flatMap((slot) => (slot ? [slot.clientOrderId] : [])).sort(),
    );
    expect(recovered.snapshot.journal).toEqual((await store.journal('jr')).at(-1)!.position);
  });

  test('a tail that cannot be replayed (a hole) leaves the snapshot as saved, with a warning', async () => {
    const store = new MemoryStore();
    const { saved } = await snapshotOf(store);
    await store.appendEvents('jr', [{ run: 'later', seq: 0, type: JOURNAL_BROKEN, payload: { reason: 'refused' } }]);
    await store.saveGridSnapshot('jr', '"active"', saved, GRID_MACHINE_VERSION);
    const logs: Array<Record<string, unknown>> = [];
    const logger = createLogger({ format: 'json', level: 'info', write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
    expect((await savedGrid(config, store, logger))!.snapshot).toEqual(saved);
    expect(logs.map((line) => line['msg'])).toContain('grid jr: the journal after its saved state cannot be replayed; restarting from the saved state alone');
  });

  test('another version: rebuilt from the journal, logged at warn, live orders to start over', async () => {
    const store = new MemoryStore();
    const { saved, context } = await snapshotOf(store);
    await store.saveGridSnapshot('jr', '"active"', saved, GRID_MACHINE_VERSION + 1);
    const logs: Array<Record<string, unknown>> = [];
    const logger = createLogger({ format: 'json', level: 'info', write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
    const recovered = await savedGrid(config, store, logger);
    expect((recovered!.snapshot.grid as unknown as { context: unknown }).context).toEqual(context);
    expect(recovered!.restartOrders!.map((order) => order.input.intent.clientOrderId).sort()).toEqual(Object.keys(saved.orders).sort());
    const warning = logs.find((line) => line['level'] === 'warn' || line['level'] === 40);
    expect(warning?.['msg']).toBe(`grid jr: saved state is machine version ${GRID_MACHINE_VERSION + 1}, this build is ${GRID_MACHINE_VERSION}: rebuilt from the journal (2 events)`);
  });

  test('an unreadable snapshot of this version: rebuilt too', async () => {
    const store = new MemoryStore();
    const { context } = await snapshotOf(store);
    await store.saveGridSnapshot('jr', '"active"', { grid: 'garbage' }, GRID_MACHINE_VERSION);
    const recovered = await savedGrid(config, store);
    expect((recovered!.snapshot.grid as unknown as { context: unknown }).context).toEqual(context);
  });

  test('no journal (state written before the journal existed): refused, with what to do', async () => {
    const store = new MemoryStore();
    await store.saveGridSnapshot('jr', '"active"', { grid: {}, orders: {} }, GRID_MACHINE_VERSION + 1);
    const refusal = savedGrid(config, store);
    await expect(refusal).rejects.toThrow(ConfigError);
    await expect(refusal).rejects.toThrow(/machine version 2, this build reads version 1, and its event journal is empty.*run the build that wrote it/);
  });

  test('a journal that does not reach back to the grid\'s creation: refused', async () => {
    const store = new MemoryStore();
    await store.saveGridSnapshot('jr', '"active"', { grid: {}, orders: {} }, GRID_MACHINE_VERSION + 1);
    await store.appendEvents('jr', [{ run: 'r', seq: 0, type: 'PAUSE', payload: {} }]);
    await expect(savedGrid(config, store)).rejects.toThrow(/does not go back to the grid's creation/);
  });
});
