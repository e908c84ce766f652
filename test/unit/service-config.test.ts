// The service configuration of `btcbot run`: modes, exchange settings, environment overrides,
// and the API keys (env or *_FILE), whose values never appear in an error.
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { exchangeCredentials } from '../../src/config/exchange-credentials.js';
import { loadServiceConfig } from '../../src/config/service-config.js';
import { configErrorOf } from '../support/config-error.js';
import { useTempDir } from '../support/temp-dir.js';

const temp = useTempDir('btcbot-service-config-');
const GRID = 'grids:\n  - { symbol: BTC/USDT, lower: 90000, upper: 110000, levels: 10, investment: 1000 }\n';

async function rejected(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('loadServiceConfig', () => {
  test('defaults: paper mode, bingx, stream timings, no live confirmation', async () => {
    const config = await loadServiceConfig(temp.file('default.yaml', GRID), {});
    expect(config.mode).toBe('paper');
    expect(config.exchange).toEqual({ id: 'bingx', sandbox: false, streams: true, timeoutMs: 10_000, staleAfterMs: 30_000, pollIntervalMs: 5_000, reconcileIntervalMs: 15_000 });
    expect(config.confirmLiveTrading).toBe(false);
    expect(config.http).toEqual({ enabled: true, host: '127.0.0.1', port: 8080 });
  });

  test('http: the file sets host and port, HTTP_HOST / HTTP_PORT override them; a bad port names the key and the variable', async () => {
    const file = temp.file('http.yaml', `http: { host: 0.0.0.0, port: 9100 }\n${GRID}`);
    expect((await loadServiceConfig(file, {})).http).toEqual({ enabled: true, host: '0.0.0.0', port: 9100 });
    expect((await loadServiceConfig(file, { HTTP_PORT: '0', HTTP_HOST: '127.0.0.1' })).http).toEqual({ enabled: true, host: '127.0.0.1', port: 0 });
    expect((await loadServiceConfig(temp.file('off.yaml', `http: { enabled: false }\n${GRID}`), {})).http.enabled).toBe(false);
    expect((await rejected(loadServiceConfig(file, { HTTP_PORT: '70000' }))).message).toMatch(/http\.port: http\.port must be 0 \(any free port\) to 65535 \(HTTP_PORT\)/);
    expect((await rejected(loadServiceConfig(file, { HTTP_PORT: 'eighty' }))).message).toMatch(/http\.port: .*\(HTTP_PORT\)/);
  });

  test('the environment overrides the file: TRADING_MODE, EXCHANGE_ID, EXCHANGE_URL, CONFIRM_LIVE_TRADING', async () => {
    const file = temp.file('file.yaml', `mode: paper\nexchange: { id: bingx, timeoutMs: 3000 }\nconfirmLiveTrading: false\n${GRID}`);
    const config = await loadServiceConfig(file, { TRADING_MODE: 'live', EXCHANGE_ID: 'binance', EXCHANGE_URL: 'http://127.0.0.1:9999', CONFIRM_LIVE_TRADING: 'yes' });
    expect(config.mode).toBe('live');
    expect(config.exchange).toMatchObject({ id: 'binance', url: 'http://127.0.0.1:9999', timeoutMs: 3000 });
    expect(config.confirmLiveTrading).toBe(true);
    expect((await loadServiceConfig(temp.file('confirmed.yaml', `confirmLiveTrading: true\n${GRID}`), { CONFIRM_LIVE_TRADING: 'no' })).confirmLiveTrading).toBe(false);
  });

  test('DATABASE_URL or DATABASE_URL_FILE (a Docker secret), never both', async () => {
    const file = temp.file('db.yaml', GRID);
    const url = 'postgres://btcbot:s3cret@postgres:5432/btcbot';
    expect((await loadServiceConfig(file, {})).database).toEqual({ dataDir: './data' });
    expect((await loadServiceConfig(file, { DATABASE_URL: url })).database.url).toBe(url);
    expect((await loadServiceConfig(file, { DATABASE_URL_FILE: temp.file('database_url', `${url}\n`) })).database.url).toBe(url);
    const both = await rejected(loadServiceConfig(file, { DATABASE_URL: url, DATABASE_URL_FILE: temp.file('database_url', url) }));
    expect(both.message).toContain('both DATABASE_URL and DATABASE_URL_FILE are set');
    expect(both.message).not.toContain('s3cret');
  });

  test('bad settings name the key and, when it came from the environment, the variable', async () => {
    const file = temp.file('plain.yaml', GRID);
    expect((await rejected(loadServiceConfig(file, { EXCHANGE_ID: 'Bing X' }))).message).toMatch(/exchange\.id: .*ccxt exchange id.*\(EXCHANGE_ID\)/);
    expect((await rejected(loadServiceConfig(file, { CONFIRM_LIVE_TRADING: 'sure' }))).message).toMatch(/CONFIRM_LIVE_TRADING must be "yes" or "no"/);
    const typo = temp.file('typo.yaml', `exchange: { id: bingx, apiKey: abc }\n${GRID}`);
    expect((await rejected(loadServiceConfig(typo, {}))).message).toMatch(/exchange.*apiKey/);
  });
});

describe('exchangeCredentials', () => {
  test('none set: undefined; both set: the pair', () => {
    expect(exchangeCredentials({})).toBeUndefined();
    expect(exchangeCredentials({ EXCHANGE_API_KEY: 'k-123', EXCHANGE_API_SECRET: 's-456' })).toEqual({ apiKey: 'k-123', secret: 's-456' });
  });

  test('from *_FILE (Docker secrets): the trailing newline is dropped', () => {
    const key = temp.file('key', 'file-key-123\n');
    const secret = temp.file('secret', 'file-secret-456\r\n');
    expect(exchangeCredentials({ EXCHANGE_API_KEY_FILE: key, EXCHANGE_API_SECRET_FILE: secret })).toEqual({ apiKey: 'file-key-123', secret: 'file-secret-456' });
  });

  test('mistakes are named without ever showing a value', () => {
    const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ EXCHANGE_API_KEY: 'k-SECRETVALUE' }, /EXCHANGE_API_SECRET is not/],
      [{ EXCHANGE_API_SECRET: 's-SECRETVALUE' }, /EXCHANGE_API_KEY is not/],
      [{ EXCHANGE_API_KEY: 'k-SECRETVALUE', EXCHANGE_API_KEY_FILE: '/x', EXCHANGE_API_SECRET: 's' }, /both EXCHANGE_API_KEY and EXCHANGE_API_KEY_FILE/],
      [{ EXCHANGE_API_KEY_FILE: temp.path('missing'), EXCHANGE_API_SECRET: 's-SECRETVALUE' }, /cannot read .*missing \(ENOENT\)/],
      [{ EXCHANGE_API_KEY_FILE: temp.file('two-lines', 'a SECRETVALUE\nb\n'), EXCHANGE_API_SECRET: 's' }, /alone on one line/],
    ];
    for (const [env, message] of cases) {
      const error = configErrorOf(() => exchangeCredentials(env));
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('SECRETVALUE');
    }
  });
});
