// `btcbot exchange-sim [options]`: the BingX spot simulator (REST and WebSocket on one port) as a
// process, until SIGINT / SIGTERM. Point the bot at it with EXCHANGE_URL=<the printed url> (any
// API key and secret).
import { parseArgs } from 'node:util';
import { UsageError } from '../../../config/usage-error.js';
import { readCandleFile } from '../../feed/candle-csv.js';
import type { MarketInfo } from '../port.js';
import { parseFaultSpec } from './bingx-sim-faults.js';
import { startBingxSimulator, type BingxSimulatorOptions } from './bingx-sim-server.js';

export const help = `usage: btcbot exchange-sim [options]

BingX spot REST, and on the same port the WebSocket ws://127.0.0.1:PORT/market (the ticker
BTC-USDT@ticker, and spot.executionReport with a listenKey from POST
/openApi/user/auth/userDataStream); frames gzip-compressed, a ping every 5 s.

  --port N            TCP port on 127.0.0.1 (default 8090; 0 picks a free one)
  --state FILE        keep orders, fills and wallet in FILE (JSON): restored at start,
                      rewritten after every change
  --symbol S          the one spot market (default BTC/USDT)
  --price P           starting price (default 50000; ignored when --state FILE exists)
  --base X            starting base balance (default 0; ignored when restored)
  --quote X           starting quote balance (default 10000; ignored when restored)
  --maker F           maker fee rate (default 0.001)
  --taker F           taker fee rate (default 0.001)
  --price-step X      tick size (default 0.01)
  --amount-step X     lot size (default 0.00001)
  --min-notional X    minimum order value in quote (default 5)
  --data FILE         replay the candles of FILE (CSV timestamp,open,high,low,close,volume or
                      Binance klines): the first open sets the price, then each candle's path
                      O->L->H->C (C >= O) or O->H->L->C is walked, filling resting orders
  --speed X           replay speed in candles per second (default 1; needs --data)
  --faults SPEC       inject faults, e.g. latency=50,error=0.1,busy=0.05,ratelimit=0.05,burst=3,
                      timeoutAfterAccept=0.02,insufficient=0.05,partial=0.3,dropWs=60000,seed=7
                      into private requests: latency (ms), error (HTTP 500), busy (100410),
                      ratelimit (HTTP 429, lasting burst requests, default 1),
                      timeoutAfterAccept (order placed, answer withheld for hold ms, default
                      30000), insufficient (creation refused, 100202);
                      partial: a resting order the price reaches fills in two parts;
                      dropWs: every that many ms every WebSocket is cut (no close frame).
                      Rates 0..1, seed an integer (default 1)

Test endpoints: GET /__sim/orders, /__sim/fills, /__sim/balances, /__sim/price (with --data
also the replay position), /__sim/ws (WebSocket connections and their subscriptions);
POST /__sim/price?price=P (jump), POST /__sim/step?target=P (walk and fill).
`;

function number(value: string | undefined, flag: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min) throw new UsageError(`${flag} must be a number >= ${min}, got "${value}"`);
  return n;
}

/** The simulator's options from the command line (throws UsageError). */
export function parseSimArgs(args: string[]): BingxSimulatorOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        port: { type: 'string' },
        state: { type: 'string' },
        symbol: { type: 'string' },
        price: { type: 'string' },
        base: { type: 'string' },
        quote: { type: 'string' },
        maker: { type: 'string' },
        taker: { type: 'string' },
        'price-step': { type: 'string' },
        'amount-step': { type: 'string' },
        'min-notional': { type: 'string' },
        data: { type: 'string' },
        speed: { type: 'string' },
        faults: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return 'help';
  const symbol = values.symbol ?? 'BTC/USDT';
  const [base, quote, ...rest] = symbol.split('/');
  if (!base || !quote || rest.length > 0 || !/^[A-Z0-9]+$/.test(base) || !/^[A-Z0-9]+$/.test(quote)) {
    throw new UsageError(`--symbol must look like BTC/USDT, got "${symbol}"`);
  }
  const port = number(values.port, '--port', 8090);
  if (!Number.isInteger(port) || port > 65535) throw new UsageError(`--port must be an integer 0..65535, got "${values.port}"`);
  const priceStep = number(values['price-step'], '--price-step', 0.01, Number.MIN_VALUE);
  const amountStep = number(values['amount-step'], '--amount-step', 0.00001, Number.MIN_VALUE);
  const market: MarketInfo = { symbol, base, quote, priceStep, amountStep, minNotional: number(values['min-notional'], '--min-notional', 5) };
  if (values.speed !== undefined && values.data === undefined) throw new UsageError('--speed needs --data FILE');
  const speed = number(values.speed, '--speed', 1, Number.MIN_VALUE);
  let options: BingxSimulatorOptions = {
    port,
    market,
    fees: { maker: number(values.maker, '--maker', 0.001), taker: number(values.taker, '--taker', 0.001) },
    balance: { base: number(values.base, '--base', 0), quote: number(values.quote, '--quote', 10_000) },
    price: number(values.price, '--price', 50_000, Number.MIN_VALUE),
  };
  if (values.state !== undefined) options = { ...options, statePath: values.state };
  if (values.faults !== undefined) options = { ...options, faults: parseFaultSpec(values.faults) };
  if (values.data !== undefined) options = { ...options, replay: { candles: readCandleFile(values.data), speed } };
  return options;
}

/** Runs until SIGINT / SIGTERM (or `stop` resolves, for tests); exit code 0. */
export async function run(args: string[], stop?: Promise<void>): Promise<number> {
  const options = parseSimArgs(args);
  if (options === 'help') {
    process.stdout.write(help);
    return 0;
  }
  const sim = await startBingxSimulator(options);
  const extras = [
    options.statePath ? `state in ${options.statePath}` : '',
    options.replay ? `replaying ${options.replay.candles.length} candles at ${options.replay.speed}/s` : '',
    options.faults ? `faults ${JSON.stringify(options.faults)}` : '',
  ].filter((extra) => extra !== '');
  process.stdout.write(`bingx simulator: ${options.market.symbol} at ${sim.exchange.lastPrice} on ${sim.url}${extras.map((extra) => `, ${extra}`).join('')}\n`);
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    void stop?.then(done);
  });
  await sim.close();
  return 0;
}
