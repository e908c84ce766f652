// The control API's fills query (StorePort.gridFills): a grid's stored fills newest first, page by
// page, on the memory store, the embedded PGlite and (TEST_DATABASE_URL) a real Postgres server:
// the same answers on each, so that paging cannot drift between backends.
import { describe, expect, test } from 'vitest';
import { MemoryStore } from '../../src/adapters/store/memory-store.js';
import type { StorePort } from '../../src/adapters/store/port.js';
import type { PostgresStore } from '../../src/adapters/store/postgres-store.js';
import { parseGridConfig } from '../../src/config/grid-config.js';
import type { FillPosition } from '../../src/domain/grid-control.js';
import type { Fill, OrderIntent } from '../../src/domain/trading.js';
import { storeBackends, useMigratedStore } from '../support/store-backends.js';
import { useTempDir } from '../support/temp-dir.js';

const grid = parseGridConfig({ id: 'g1', symbol: 'BTC/USDT', lower: 90_000, upper: 110_000, levels: 5, quantityPerLevel: 0.001 });
const other = parseGridConfig({ id: 'g2', symbol: 'BTC/USDT', lower: 90_000, upper: 110_000, levels: 5, quantityPerLevel: 0.001 });
const T0 = 1_700_000_000_000;

const intent = (clientOrderId: string, side: 'buy' | 'sell' = 'buy'): OrderIntent => ({ clientOrderId, symbol: 'BTC/USDT', side, type: 'limit', price: 95_000, amount: 0.003, level: 1 });
const fill = (tradeId: string, clientOrderId: string, at: number): Fill => ({
  tradeId,
  orderId: `X-${clientOrderId}`,
  clientOrderId,
  symbol: 'BTC/USDT',
  side: 'buy',
  price: 95_000.5,
  amount: 0.001,
  fee: 0.095,
  takerOrMaker: 'maker',
  timestamp: T0 + at,
});

/** Three orders of g1 and their fills; two fills share a millisecond (trade ids "T10" and "T9": bytes, not numbers, order them). */
const ofG1 = [fill('T1', 'bbg1_1b1', 1), fill('T2', 'bbg1_1b1', 2), fill('T3', 'bbg1_2s1', 5), fill('T9', 'bbg1_2s1', 7), fill('T10', 'bbg1_3b1', 7), fill('T4', 'bbg1_3b1', 9)];
const newestFirst = ['T4', 'T9', 'T10', 'T3', 'T2', 'T1'];

async function seed(store: StorePort): Promise<void> {
  for (const id of ['bbg1_1b1', 'bbg1_2s1', 'bbg1_3b1']) await store.recordIntent('g1', intent(id));
  for (const f of ofG1) await store.recordFill(f);
  // Not g1's: an order the store does not know (stored anyway), and a fill at the newest time of all.
  await store.recordFill(fill('T50', 'someone-else', 50));
}

/** Every page of `limit`, following each page's last fill as the next cursor. */
async function walk(store: StorePort, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let before: FillPosition | undefined;
  for (;;) {
    const page = await store.gridFills('g1', { limit, ...(before === undefined ? {} : { before }) });
    if (page.length === 0) return pages;
    pages.push(page.map((f) => f.tradeId));
    const last = page.at(-1)!;
    before = { timestamp: last.timestamp, tradeId: last.tradeId };
  }
}

function describeGridFills(name: string, makeStore: () => Promise<StorePort>): void {
  describe(`gridFills on ${name}`, () => {
    test('newest first, exact values, only the grid\'s own orders', async () => {
      const store = await makeStore();
      await seed(store);
      const fills = await store.gridFills('g1', { limit: 50 });
      expect(fills.map((f) => f.tradeId)).toEqual(newestFirst);
      expect(fills[0]).toEqual(ofG1.at(-1));
      expect(await store.gridFills('nosuchgrid', { limit: 50 })).toEqual([]);
    });

    test('pages follow each other without a gap or a repeat, a shared millisecond included', async () => {
      const store = await makeStore();
      await seed(store);
      expect(await walk(store, 2)).toEqual([
        ['T4', 'T9'],
        ['T10', 'T3'],
        ['T2', 'T1'],
      ]);
      expect((await walk(store, 4)).flat()).toEqual(newestFirst);
      expect(await walk(store, 1)).toEqual(newestFirst.map((id) => [id]));
    });

    test('before a timestamp: the fills executed strictly before it', async () => {
      const store = await makeStore();
      await seed(store);
      expect((await store.gridFills('g1', { limit: 50, before: { timestamp: T0 + 7 } })).map((f) => f.tradeId)).toEqual(['T3', 'T2', 'T1']);
      expect((await store.gridFills('g1', { limit: 1, before: { timestamp: T0 + 7 } })).map((f) => f.tradeId)).toEqual(['T3']);
      expect(await store.gridFills('g1', { limit: 50, before: { timestamp: T0 + 1 } })).toEqual([]);
    });
  });
}

describeGridFills('MemoryStore', async () => new MemoryStore());

const temp = useTempDir('btcbot-grid-fills-');
for (const backend of storeBackends(() => temp.path('pglite'), 'btcbot_fills')) {
  describe(`PostgresStore on ${backend.name}`, () => {
    let store: PostgresStore;
    useMigratedStore(backend, grid, (opened) => ({ store } = opened));

    describeGridFills('(same database)', async () => store);

    test("another grid's fills are not the grid's, even at the same times", async () => {
      await store.registerGrid(other);
      await seed(store);
      await store.recordIntent('g2', intent('bbg2_1s1', 'sell'));
      await store.recordFill(fill('U1', 'bbg2_1s1', 8));
      expect((await store.gridFills('g1', { limit: 50 })).map((f) => f.tradeId)).toEqual(newestFirst);
      expect((await store.gridFills('g2', { limit: 50 })).map((f) => f.tradeId)).toEqual(['U1']);
    });
  });
}
