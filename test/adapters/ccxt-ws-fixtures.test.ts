// The live adapter's WebSocket watches (CcxtExchange.watchTick / watchOwnOrders / watchOwnFills /
// closeStreams) on real frames: ccxt's recorded Binance and BingX WebSocket fixtures
// (../shared/fixtures/ccxt/ws, read in place) are played by a loopback server (ws-fixture-server.ts)
// to an unmodified ccxt pro client whose URLs CcxtExchange.create rebased onto it (exchangeUrl).
// Every expected value below is read off the recorded raw frames by hand, not from ccxt's
// parsedResponses and not by running our code. No watch needs a REST request on the way (the
// markets come from ccxt's snapshot; Binance spot authenticates on its WebSocket API with
// userDataStream.subscribe.signature, no listen key): every test checks that none was made.
//
// BingX's own orders and fills have no executionReport fixture here; the BingX simulator's tests
// cover that path (test/sim/bingx-sim-ws.test.ts), and the subscription shape ccxt sends is
// checked against the recording below, which guards the simulator's protocol too.
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { CcxtExchange } from '../../src/adapters/exchange/ccxt-exchange.js';
import type { ExchangeOrder, Tick } from '../../src/adapters/exchange/port.js';
import type { Fill } from '../../src/domain/trading.js';
import { hasShared, sharedSkipReason } from '../shared.js';
import { exchangeErrorOf } from '../support/exchange-error.js';
import { tickSizeMarkets } from './ccxt-fixtures.js';
import { WsFixtureServer, withoutKeys, wsFixtureCase, type WsFixtureCase } from './ws-fixture-server.js';

const skipTitle = hasShared ? '' : ` (skipped: ${sharedSkipReason})`;
/** Per test: a hung watch fails quickly, not at vitest's five minutes (each test takes well under 1 s). */
const TIMEOUT = 5_000;
/** How long a watch may take to resolve once its frame is sent. */
const WATCH_MS = 2_000;
/** The fixtures' subscription carries apiKey "key" (secret unknown: the signature is a sentSkipKey). */
const credentials = { apiKey: 'key', secret: 'secret' };

const servers: WsFixtureServer[] = [];
const adapters: CcxtExchange[] = [];

// The first `import('ccxt')` (inside CcxtExchange.create) takes ~0.4 s: not in the first test's time.
beforeAll(async () => {
  await import('ccxt');
}, 60_000);

afterEach(async () => {
  await Promise.all(adapters.splice(0).map((adapter) => adapter.closeStreams()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

interface Opened {
  readonly server: WsFixtureServer;
  readonly adapter: CcxtExchange;
}

/** A fixture server for the case and an adapter pointed at it (BingX frames gzip-compressed, as live). */
async function open(exchangeId: 'binance' | 'bingx', fixture: WsFixtureCase, markets = tickSizeMarkets(exchangeId)): Promise<Opened> {
  const server = await WsFixtureServer.start(fixture, { gzip: exchangeId === 'bingx' });
  servers.push(server);
  const adapter = await CcxtExchange.create({ exchangeId, ...credentials, exchangeUrl: server.origin, markets });
  adapters.push(adapter);
  return { server, adapter };
}

/**
 * The message hashes ccxt is waiting on (the open futures of every WebSocket client). A peek at
 * ccxt pro's internals, for pacing only: see pushWhenWatching.
 */
function pendingWatches(adapter: CcxtExchange): string[] {
  const exchange = (adapter as unknown as { exchange: { clients: Record<string, { futures: Record<string, unknown> }> } }).exchange;
  return Object.values(exchange.clients).flatMap((client) => Object.keys(client.futures));
}

/**
 * Sends the case's next recorded update once ccxt waits on `messageHash`. An update that arrives
 * earlier is cached by ccxt but resolves nothing, so the watch would hang: a private watch
 * registers its future only after the subscription's answer, and ccxt hands frames that queue up
 * to its handlers in one go.
 */
async function pushWhenWatching(server: WsFixtureServer, adapter: CcxtExchange, messageHash: string): Promise<void> {
  const deadline = Date.now() + WATCH_MS;
  while (!pendingWatches(adapter).includes(messageHash)) {
    if (Date.now() > deadline) throw new Error(`ccxt never waited on ${messageHash} (it waits on ${JSON.stringify(pendingWatches(adapter))}; refused upgrades ${JSON.stringify(server.refused)})`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await server.push();
}

/**
 * A watch started now and awaited later: marked handled at once, so that a test failing before it
 * awaits the watch leaves no unhandled rejection behind (afterEach's closeStreams ends it).
 */
function started<T>(watch: Promise<T>): Promise<T> {
  watch.catch(() => undefined);
  return watch;
}

/** The watch's result, or a clear failure when it does not resolve within `ms`. */
async function within<T>(promise: Promise<T>, what: string, ms = WATCH_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no update within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** ccxt sent exactly the recorded frames (the case's sentSkipKeys aside), all frames were played, no REST call was made. */
function expectRecordedExchange(server: WsFixtureServer, fixture: WsFixtureCase): void {
  const skip = fixture.sentSkipKeys ?? [];
  expect(withoutKeys(server.received, skip)).toStrictEqual(withoutKeys(fixture.sentMessages, skip));
  expect(server.remaining).toStrictEqual([]);
  expect(server.refused).toStrictEqual([]);
  expect(server.accepted).toBe(1);
  expect(server.httpRequests).toStrictEqual([]);
}

describe.skipIf(!hasShared)(`CcxtExchange watches on ccxt's recorded Binance frames${skipTitle}`, () => {
  test(
    'watchOwnFills: one fill per executionReport TRADE (t, i, c, S, L, l, m, T); a BNB commission counts 0',
    async () => {
      const fixture = wsFixtureCase('binance', 'watchMyTrades', 'my trades from a filled market buy then a filled market sell');
      const { server, adapter } = await open('binance', fixture);

      const first = started(adapter.watchOwnFills('BTC/USDT'));
      await pushWhenWatching(server, adapter, 'myTrades:BTC/USDT');
      // event: t 276374166, i 55945750590, c x-TKT5PX2F5329a0a4bfe64396a1b79c, S BUY, L 63817.61000000,
      // l 0.00020000, n 0.00001563 N BNB, m false (taker), T 1786522906946.
      const buy: Fill = {
        tradeId: '276374166',
        orderId: '55945750590',
        clientOrderId: 'x-TKT5PX2F5329a0a4bfe64396a1b79c',
        symbol: 'BTC/USDT',
        side: 'buy',
        price: 63817.61,
        amount: 0.0002,
        fee: 0,
        takerOrMaker: 'taker',
        timestamp: 1786522906946,
      };
      expect(await within(first, 'first fill')).toStrictEqual([buy]);

      const second = started(adapter.watchOwnFills('BTC/USDT'));
      await pushWhenWatching(server, adapter, 'myTrades:BTC/USDT');
      // event: t 276374173, i 55945759594, c x-TKT5PX2F93e7fc7f4160459d8bfe21, S SELL, L 63817.60000000,
      // l 0.00020000, n 0.00001563 N BNB, m false (taker), T 1786522909151.
      const sell: Fill = {
        tradeId: '276374173',
        orderId: '55945759594',
        clientOrderId: 'x-TKT5PX2F93e7fc7f4160459d8bfe21',
        symbol: 'BTC/USDT',
        side: 'sell',
        price: 63817.6,
        amount: 0.0002,
        fee: 0,
        takerOrMaker: 'taker',
        timestamp: 1786522909151,
      };
      expect(await within(second, 'second fill')).toStrictEqual([sell]);

      // The client ids came from the frames' `c`: no order was looked up by REST.
      expectRecordedExchange(server, fixture);
    },
    TIMEOUT,
  );

  test(
    'watchOwnOrders: a market buy NEW (open, no price) then TRADE/FILLED (closed, filled z, price Z/z)',
    async () => {
      const fixture = wsFixtureCase('binance', 'watchOrders', 'spot market order lifecycle from open to closed after fill');
      const { server, adapter } = await open('binance', fixture);

      const first = started(adapter.watchOwnOrders('BTC/USDT'));
      await pushWhenWatching(server, adapter, 'orders:BTC/USDT');
      // event: i 55945750590, c x-TKT5PX2F5329a0a4bfe64396a1b79c, S BUY, o MARKET, q 0.00020000,
      // p 0.00000000 (a market order has no price), X NEW, z 0.00000000, O 1786522906946.
      const opened: ExchangeOrder = {
        id: '55945750590',
        clientOrderId: 'x-TKT5PX2F5329a0a4bfe64396a1b79c',
        symbol: 'BTC/USDT',
        side: 'buy',
        type: 'market',
        price: undefined,
        amount: 0.0002,
        filled: 0,
        status: 'open',
        timestamp: 1786522906946,
      };
      expect(await within(first, 'NEW')).toStrictEqual([opened]);

      const second = started(adapter.watchOwnOrders('BTC/USDT'));
      await pushWhenWatching(server, adapter, 'orders:BTC/USDT');
      // event: X FILLED, z 0.00020000, Z 12.76352200 (average 12.763522 / 0.0002 = 63817.61, the one
      // fill's L), O 1786522906946.
      const filled: ExchangeOrder = { ...opened, price: 63817.61, filled: 0.0002, status: 'closed' };
      expect(await within(second, 'FILLED')).toStrictEqual([filled]);

      expectRecordedExchange(server, fixture);
    },
    TIMEOUT,
  );

  // 24hrMiniTicker frames: c 64117.99000000 at E 1786539510015, then c 64117.99000000 at E 1786539511015.
  const ticks: Tick[] = [
    { symbol: 'BTC/USDT', price: 64117.99, timestamp: 1786539510015 },
    { symbol: 'BTC/USDT', price: 64117.99, timestamp: 1786539511015 },
  ];

  // With every market loaded, BTCUSDT names both BTC/USDT and BTC/USDT:USDT, and ccxt's binance
  // tells spot from contract frames by the stream URL, which EXCHANGE_URL rebases away: the adapter
  // declares every stream spot (afterRebase in ccxt-exchange.ts). Without it this tick never came.
  test(
    'watchTick with every market loaded (as live): the miniTicker frame arrives as the BTC/USDT tick',
    async () => {
      const fixture = wsFixtureCase('binance', 'watchTicker', 'spot ticker');
      const { server, adapter } = await open('binance', fixture);
      const first = started(adapter.watchTick('BTC/USDT'));
      await pushWhenWatching(server, adapter, 'ticker:miniTicker@BTC/USDT');
      expect(await within(first, 'first tick', 300)).toStrictEqual(ticks[0]);
    },
    TIMEOUT,
  );

  test(
    'watchTick with only the spot BTC/USDT market loaded: each miniTicker frame is a Tick (last c, time E)',
    async () => {
      const fixture = wsFixtureCase('binance', 'watchTicker', 'spot ticker');
      const markets = tickSizeMarkets('binance');
      // Without the linear swap, BTCUSDT names one market and ccxt does not need the URL (see above).
      delete markets['BTC/USDT:USDT'];
      const { server, adapter } = await open('binance', fixture, markets);

      const first = started(adapter.watchTick('BTC/USDT'));
      await pushWhenWatching(server, adapter, 'ticker:miniTicker@BTC/USDT');
      expect(await within(first, 'first tick')).toStrictEqual(ticks[0]);
      const second = started(adapter.watchTick('BTC/USDT'));
      await pushWhenWatching(server, adapter, 'ticker:miniTicker@BTC/USDT');
      expect(await within(second, 'second tick')).toStrictEqual(ticks[1]);

      expectRecordedExchange(server, fixture);
    },
    TIMEOUT,
  );

  test(
    'closeStreams: a pending watchOwnFills (authenticated, waiting for a trade) rejects retryable CLOSED',
    async () => {
      const fixture = wsFixtureCase('binance', 'watchMyTrades', 'my trades from a filled market buy then a filled market sell');
      const { adapter } = await open('binance', fixture);
      const pending = started(adapter.watchOwnFills('BTC/USDT'));
      const deadline = Date.now() + WATCH_MS;
      while (!pendingWatches(adapter).includes('myTrades:BTC/USDT') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
      expect(pendingWatches(adapter)).toContain('myTrades:BTC/USDT');

      await adapter.closeStreams();
      const error = await exchangeErrorOf(within(pending, 'closed watch'));
      expect([error.kind, error.code]).toStrictEqual(['retryable', 'CLOSED']);
    },
    TIMEOUT,
  );
});

describe.skipIf(!hasShared)(`CcxtExchange watches on ccxt's recorded BingX frames${skipTitle}`, () => {
  test(
    'watchTick: each gzip-compressed 24hTicker frame is a Tick (last c, time E)',
    async () => {
      const fixture = wsFixtureCase('bingx', 'watchTicker', 'spot ticker');
      const { server, adapter } = await open('bingx', fixture);

      // data: c 64093.88 at E 1786540061055, then c 64093.88 at E 1786540062067.
      const first = started(adapter.watchTick('BTC/USDT'));
      await pushWhenWatching(server, adapter, 'ticker::BTC/USDT');
      expect(await within(first, 'first tick')).toStrictEqual({ symbol: 'BTC/USDT', price: 64093.88, timestamp: 1786540061055 } satisfies Tick);
      const second = started(adapter.watchTick('BTC/USDT'));
      await pushWhenWatching(server, adapter, 'ticker::BTC/USDT');
      expect(await within(second, 'second tick')).toStrictEqual({ symbol: 'BTC/USDT', price: 64093.88, timestamp: 1786540062067 } satisfies Tick);

      expectRecordedExchange(server, fixture);
    },
    TIMEOUT,
  );

  test(
    "the ticker subscription ccxt sends is the recorded one: { id: <uuid>, dataType: 'BTC-USDT@ticker' } (the simulator's protocol)",
    async () => {
      const fixture = wsFixtureCase('bingx', 'watchTicker', 'spot ticker');
      const { server, adapter } = await open('bingx', fixture);
      void started(adapter.watchTick('BTC/USDT')); // ended by afterEach's closeStreams

      const [sent] = await server.waitForReceived(1);
      expect(fixture.sentSkipKeys).toStrictEqual(['id']);
      expect(fixture.sentMessages).toStrictEqual([{ id: expect.any(String), dataType: 'BTC-USDT@ticker' }]);
      expect(withoutKeys(server.received, ['id'])).toStrictEqual(withoutKeys(fixture.sentMessages, ['id']));
      // The skipped key: a fresh uuid per subscription, as recorded (71b47ba4-90cc-42f1-a4e7-1c710de6221f).
      expect(sent!['id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(Object.keys(sent!)).toStrictEqual(Object.keys(fixture.sentMessages[0]!));
    },
    TIMEOUT,
  );

  test(
    'closeStreams: a pending watchTick rejects retryable CLOSED; the next watch reconnects',
    async () => {
      const fixture = wsFixtureCase('bingx', 'watchTicker', 'spot ticker');
      const { server, adapter } = await open('bingx', fixture);
      const pending = started(adapter.watchTick('BTC/USDT'));
      await server.waitForReceived(1);

      await adapter.closeStreams();
      const error = await exchangeErrorOf(within(pending, 'closed watch'));
      expect([error.kind, error.code]).toStrictEqual(['retryable', 'CLOSED']);

      // A new connection with a new subscription; the recorded update then resolves the new watch.
      const next = started(adapter.watchTick('BTC/USDT'));
      await server.waitForReceived(2);
      expect(server.accepted).toBe(2);
      expect(server.received[1]).toStrictEqual({ id: expect.any(String), dataType: 'BTC-USDT@ticker' });
      expect(server.received[1]!['id']).not.toBe(server.received[0]!['id']);
      await pushWhenWatching(server, adapter, 'ticker::BTC/USDT');
      expect(await within(next, 'tick after reconnect')).toStrictEqual({ symbol: 'BTC/USDT', price: 64093.88, timestamp: 1786540061055 } satisfies Tick);
    },
    TIMEOUT,
  );
});
