// The simulator's command line: options, usage errors, and a run that serves until stopped.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, test, vi } from 'vitest';
import { WebSocket } from 'ws';
import { help, parseSimArgs, run } from '../../src/adapters/exchange/sim/bingx-sim-cli.js';

describe('btcbot exchange-sim options', () => {
  test('defaults', () => {
    expect(parseSimArgs([])).toEqual({
      port: 8090,
      market: { symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', priceStep: 0.01, amountStep: 0.00001, minNotional: 5 },
      fees: { maker: 0.001, taker: 0.001 },
      balance: { base: 0, quote: 10_000 },
      price: 50_000,
    });
  });

  test('every option', () => {
    const args = ['--port', '0', '--state', '/tmp/s.json', '--symbol', 'ETH/USDC', '--price', '3000', '--base', '1', '--quote', '500'];
    args.push('--maker', '0.0002', '--taker', '0.0005', '--price-step', '0.1', '--amount-step', '0.001', '--min-notional', '10');
    expect(parseSimArgs(args)).toEqual({
      port: 0,
      statePath: '/tmp/s.json',
      market: { symbol: 'ETH/USDC', base: 'ETH', quote: 'USDC', priceStep: 0.1, amountStep: 0.001, minNotional: 10 },
      fees: { maker: 0.0002, taker: 0.0005 },
      balance: { base: 1, quote: 500 },
      price: 3000,
    });
    expect(parseSimArgs(['--help'])).toBe('help');
  });

  test.each([
    [['--port', '70000'], '--port'],
    [['--port', 'x'], '--port'],
    [['--symbol', 'BTCUSDT'], '--symbol'],
    [['--price', '0'], '--price'],
    [['--maker', '-1'], '--maker'],
    [['--bogus'], 'bogus'],
    [['--faults', 'error=0.1,busy=3'], 'busy=3'],
    [['--faults', 'latency=5,nope=1'], 'nope=1'],
    [['--speed', '10'], '--data'],
    [['--data', '/dev/null', '--speed', '0'], '--speed'],
  ])('%j is a usage error naming %s', (args, flag) => {
    expect(() => parseSimArgs(args)).toThrow(expect.objectContaining({ name: 'UsageError', message: expect.stringContaining(flag) }));
  });

  test('--faults, --data and --speed', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bingx-sim-cli-'));
    try {
      const file = path.join(dir, 'candles.csv');
      writeFileSync(file, 'timestamp,open,high,low,close,volume\n60000,100,103,95,102,1\n120000,102,106,90,92,2\n');
      const options = parseSimArgs(['--port', '0', '--data', file, '--speed', '50', '--faults', 'latency=5,busy=0.5,insufficient=0.1,partial=0.2,dropWs=30000,seed=9']);
      if (options === 'help') throw new Error('unexpected help');
      expect(options.faults).toEqual({ latency: 5, busy: 0.5, insufficient: 0.1, partial: 0.2, dropWs: 30_000, seed: 9 });
      expect(options.replay?.speed).toBe(50);
      expect(Array.from(options.replay!.candles.open)).toEqual([100, 102]);
      expect(Array.from(options.replay!.candles.close)).toEqual([102, 92]);
      const defaultSpeed = parseSimArgs(['--data', file]);
      expect(defaultSpeed !== 'help' && defaultSpeed.replay?.speed).toBe(1);
      expect(() => parseSimArgs(['--data', path.join(dir, 'missing.csv')])).toThrow(expect.objectContaining({ name: 'CandleFileError' }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--help names every fault, the WebSocket and the test endpoints', () => {
    for (const word of ['latency', 'error', 'busy', 'ratelimit', 'burst', 'timeoutAfterAccept', 'hold', 'insufficient', 'partial', 'dropWs', 'seed']) expect(help).toContain(word);
    for (const word of ['/market', 'BTC-USDT@ticker', 'spot.executionReport', 'userDataStream', '/__sim/ws']) expect(help).toContain(word);
  });

  test('run serves REST and the WebSocket until stopped, and writes its state file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bingx-sim-cli-'));
    const state = path.join(dir, 'state.json');
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      let stop!: () => void;
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      const running = run(['--port', '0', '--state', state], stopped);
      await vi.waitFor(() => expect(out).toHaveBeenCalled());
      const line = String(out.mock.calls[0]![0]);
      const url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)![1]!;
      expect(await (await fetch(`${url}/__sim/price`)).json()).toEqual({ price: 50_000 });
      expect(existsSync(state)).toBe(true);
      const socket = new WebSocket(`${url.replace('http:', 'ws:')}/market`);
      const ticker = new Promise<Record<string, unknown>>((resolve) =>
        socket.on('message', (data) => {
          const frame = JSON.parse(gunzipSync(data as Buffer).toString('utf8')) as Record<string, unknown>;
          if (frame['dataType'] === 'BTC-USDT@ticker') resolve(frame['data'] as Record<string, unknown>);
        }),
      );
      socket.on('open', () => socket.send(JSON.stringify({ id: 'cli-1', dataType: 'BTC-USDT@ticker' })));
      expect(await ticker).toMatchObject({ e: '24hTicker', s: 'BTC-USDT', c: 50_000 });
      socket.terminate();
      stop();
      expect(await running).toBe(0);
    } finally {
      out.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
