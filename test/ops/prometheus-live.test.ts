// A real Prometheus (the Debian package's /usr/bin/prometheus) scrapes a running bot with the ops
// stack's own scrape job and rules: the target is up, the bot's metrics arrive labelled with the
// job's environment, every rule group loads and evaluates, and every PromQL query of the
// dashboards runs. Bot and Prometheus listen on 127.0.0.1 only and are killed at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse, stringify } from 'yaml';
import { ensureBuilt, killChildren, spawnCli, type CliProcess } from '../cli/cli-harness.js';
import { prometheus, prometheusSkipReason } from '../support/ops-tools.js';
import { useTempDir } from '../support/temp-dir.js';
import { dashboardQueries, dashboards, OPS } from './promql.js';

const RULES = path.join(OPS, 'prometheus/rules/btcbot.rules.yml');
const temp = useTempDir('btcbot-ops-prom-');

const BOT_CONFIG = `mode: paper
feed: { speed: 200, candles: 1000000 }
grids:
  - symbol: BTC/USDT
    lower: 95000
    upper: 105000
    levels: 40
    investment: 2000
`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface ApiAnswer<T> {
  status: string;
  data: T;
  error?: string;
}

describe.skipIf(prometheus === undefined)(`a real Prometheus scrapes a running bot with the ops stack's job and rules ${prometheus === undefined ? `(${prometheusSkipReason})` : ''}`, () => {
  let bot: CliProcess | undefined;
  let server: ChildProcess | undefined;
  let serverLog = '';
  let api = '';

  const get = async <T>(endpoint: string): Promise<ApiAnswer<T>> => {
    const response = await fetch(`${api}${endpoint}`);
    return (await response.json()) as ApiAnswer<T>;
  };
  const query = async (expr: string): Promise<ApiAnswer<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>> =>
    get(`/api/v1/query?query=${encodeURIComponent(expr)}`);
  /** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
  const until = async <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const value = await check();
        if (value !== undefined) return value;
      } catch {
        // not answering yet
      }
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms. Prometheus said:\n${serverLog.slice(-4000)}`);
      await sleep(250);
    }
  };

  beforeAll(async () => {
    ensureBuilt();
    const botConfig = temp.file('bot.yaml', BOT_CONFIG);
    bot = spawnCli(['run', '--config', botConfig], { HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', DATA_DIR: `${botConfig}.data`, ENVIRONMENT: 'stage' });
    const serving = await bot.waitFor((line) => line.msg.startsWith('serving ') && typeof line.url === 'string', 'serving /metrics', 60_000);
    const target = new URL(String(serving.url)).host;

    // The ops stack's own stage job, aimed at this bot, scraped every second; its rule file.
    const ops = parse(readFileSync(path.join(OPS, 'prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    const stage = ops.scrape_configs.find((job) => job.job_name === 'btcbot-stage')!;
    stage.static_configs[0]!.targets = [target];
    const config = {
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [RULES],
      scrape_configs: [stage],
    };
    const configFile = temp.file('prometheus.yml', stringify(config));
    const data = temp.path('prometheus-data');
    mkdirSync(data);
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    server = spawn(prometheus!, [`--config.file=${configFile}`, `--storage.tsdb.path=${data}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.setEncoding('utf8').on('data', (text: string) => (serverLog += text));
    server.stderr!.setEncoding('utf8').on('data', (text: string) => (serverLog += text));
  });

  afterAll(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise<void>((resolve) => server!.once('exit', () => resolve()));
      server.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000).then(() => server!.kill('SIGKILL'))]);
    }
    await killChildren();
  });

  test('the target is up and the bot\'s metrics have samples, labelled environment="stage" by the job', async () => {
    await until('the bot target up', async () => {
      const targets = await get<{ activeTargets: { labels: Record<string, string>; health: string }[] }>('/api/v1/targets');
      const active = targets.data.activeTargets.find((one) => one.labels.job === 'btcbot-stage');
      return active?.health === 'up' ? active : undefined;
    });
    const up = await query('up{job="btcbot-stage"}');
    expect(up.data.result).toEqual([expect.objectContaining({ metric: expect.objectContaining({ environment: 'stage', app: 'btcbot' }), value: [expect.any(Number), '1'] })]);
    const trades = await until('btcbot_trades_total samples', async () => {
      const answer = await query('btcbot_trades_total{job="btcbot-stage"}');
      return answer.data.result.length >= 2 ? answer.data.result : undefined;
    });
    expect(trades.map((series) => series.metric.side).sort()).toEqual(['buy', 'sell']);
    for (const series of trades) {
      expect(series.metric).toMatchObject({ environment: 'stage', grid: 'btcusdt' });
      expect(series.metric).not.toHaveProperty('exported_environment');
    }
    const price = await until('btcbot_price_current', async () => {
      const answer = await query('btcbot_price_current{environment="stage"}');
      return answer.data.result[0];
    });
    expect(Number(price.value[1])).toBeGreaterThan(0);
    const running = await query('btcbot_supervisor_up{environment="stage"} == 1');
    expect(running.data.result.length).toBeGreaterThan(0);
  });

  test('the rule groups load and every rule evaluates without an error', async () => {
    const file = parse(readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: unknown[] }[] };
    const groups = await until('the rules evaluated', async () => {
      const answer = await get<{ groups: { name: string; lastEvaluation: string; rules: { name: string; health: string; lastError?: string }[] }[] }>('/api/v1/rules');
      const evaluated = answer.data.groups.every((group) => group.rules.every((rule) => rule.health !== 'unknown'));
      return answer.data.groups.length > 0 && evaluated ? answer.data.groups : undefined;
    });
    expect(groups.map((group) => group.name).sort()).toEqual(file.groups.map((group) => group.name).sort());
    for (const group of groups) {
      for (const rule of group.rules) expect({ rule: rule.name, health: rule.health, error: rule.lastError ?? '' }).toEqual({ rule: rule.name, health: 'ok', error: '' });
    }
    // The healthy bot fires none of them (BtcbotBackupMetricMissing waits 26 h before it fires).
    const alerts = await get<{ alerts: { labels: { alertname: string }; state: string }[] }>('/api/v1/alerts');
    expect(alerts.data.alerts.filter((alert) => alert.state === 'firing')).toEqual([]);
  });

  test("every PromQL query of the dashboards runs on it (the bot's series in the core panels)", async () => {
    const values: Record<string, string> = { environment: '.*', grid: '.*', symbol: '.*',  __rate_interval: '1m', __interval: '15s' };
    const queries = dashboards()
      .flatMap(dashboardQueries)
      .filter((one) => one.datasource === 'prometheus');
    for (const one of queries) {
      const expr = one.expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (_all, braced: string | undefined, bare: string | undefined) => values[(braced ?? bare)!] ?? '0');
      const answer = await query(expr);
      expect({ panel: one.panel, status: answer.status, error: answer.error ?? '' }).toEqual({ panel: one.panel, status: 'success', error: '' });
    }
    for (const panel of ['Price and grid levels', 'Open orders and positions', 'Bot scraped (up)', 'Actor states now']) {
      const expr = queries.find((one) => one.panel === panel)!.expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (_all, braced: string | undefined, bare: string | undefined) => values[(braced ?? bare)!] ?? '0');
      const answer = await until(`data for "${panel}"`, async () => ((await query(expr)).data.result.length > 0 ? true : undefined), 20_000);
      expect(answer, panel).toBe(true);
    }
  });
});
