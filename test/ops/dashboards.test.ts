// The Grafana dashboards (ops/grafana/dashboards) and their data sources: every PromQL query
// selects only metrics the app exports (read from createMetrics' registry), Prometheus' own
// series, or the backup script's; each dashboard can be filtered by environment; the panels the
// deployment asks for are there; Loki queries use only the labels Alloy sets.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { allowedNames, dashboardQueries, dashboards, metricNames, OPS, variableMetricNames } from './promql.js';

const all = dashboards();
const queries = all.flatMap(dashboardQueries);
const promql = queries.filter((query) => query.datasource === 'prometheus');

describe('ops/grafana dashboards', () => {
  test('there are dashboards, each with a unique uid and a title', () => {
    expect(all.length).toBeGreaterThan(0);
    expect(new Set(all.map((dashboard) => dashboard.json.uid)).size).toBe(all.length);
    for (const dashboard of all) expect(dashboard.json.title).not.toBe('');
  });

  test('every metric a PromQL query (or variable) selects is one the app exports, a Prometheus series, or the backup metric', () => {
    const allowed = allowedNames();
    expect(allowed).toContain('btcbot_trades_total');
    expect(allowed).toContain('btcbot_api_latency_seconds_bucket');
    expect(promql.length).toBeGreaterThan(10);
    for (const query of promql) {
      for (const name of metricNames(query.expr)) expect(allowed, `${query.dashboard} "${query.panel}": ${name} in ${query.expr}`).toContain(name);
    }
    for (const dashboard of all) {
      for (const variable of dashboard.json.templating.list.filter((one) => one.type === 'query')) {
        const names = variableMetricNames(variable.definition ?? '');
        expect(names.length, `${dashboard.file} variable ${variable.name}`).toBeGreaterThan(0);
        for (const name of names) expect(allowed, `${dashboard.file} variable ${variable.name}: ${name}`).toContain(name);
      }
    }
  });

  test('an environment selector, and every query that selects a metric filters on it', () => {
    for (const dashboard of all) {
      const environment = dashboard.json.templating.list.find((variable) => variable.name === 'environment');
      expect(environment?.type, dashboard.file).toBe('query');
      expect(environment?.definition).toMatch(/^label_values\(.*, environment\)$/);
    }
    for (const query of queries.filter((one) => one.datasource !== 'tempo')) {
      const selects = query.datasource === 'loki' || metricNames(query.expr).length > 0;
      if (selects) expect(query.expr, `${query.dashboard} "${query.panel}"`).toContain('environment=~"$environment"');
    }
  });

  test('the panels the deployment asks for: price with grid levels, PnL and grid profit, orders and positions, API latency, actor states and restarts, component health', () => {
    const used = new Set(promql.flatMap((query) => metricNames(query.expr)));
    for (const name of [
      'btcbot_price_current',
      'btcbot_pnl_total',
      'btcbot_grid_profit',
      'btcbot_orders_pending',
      'btcbot_positions_open',
      'btcbot_trades_total',
      'btcbot_api_latency_seconds_bucket',
      'btcbot_actor_state',
      'btcbot_actor_up',
      'btcbot_supervisor_restarts_total',
      'btcbot_supervisor_up',
      'btcbot_grid_state',
      'up',
      'btcbot_backup_last_success_timestamp_seconds',
    ]) {
      expect(used, name).toContain(name);
    }
    const price = promql.filter((query) => query.panel === 'Price and grid levels').map((query) => query.expr);
    // The price with the grid's own levels, as the bot exports them (no configuration copied into the dashboard).
    expect(price.some((expr) => expr.includes('btcbot_price_current')) && price.some((expr) => expr.includes('btcbot_grid_level_price'))).toBe(true);
    expect(queries.some((query) => query.datasource === 'loki')).toBe(true);
    expect(queries.some((query) => query.datasource === 'tempo')).toBe(true);
  });

  test('Loki queries select streams by the labels Alloy sets only (app, environment, level, module)', () => {
    for (const query of queries.filter((one) => one.datasource === 'loki')) {
      for (const selector of query.expr.matchAll(/\{([^}]*)\}/g)) {
        for (const matcher of selector[1]!.split(',')) {
          const label = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)/.exec(matcher)?.[1];
          expect(['app', 'environment', 'level', 'module'], `${query.panel}: ${query.expr}`).toContain(label);
        }
      }
    }
  });

  test('every data source a dashboard uses is provisioned (Prometheus, Loki, Tempo), with log-to-trace and trace-to-log links on trace_id', () => {
    const provisioned = parse(readFileSync(path.join(OPS, 'grafana/provisioning/datasources/datasources.yml'), 'utf8')) as {
      datasources: { uid: string; type: string; url: string; jsonData?: Record<string, unknown> }[];
    };
    const byUid = new Map(provisioned.datasources.map((source) => [source.uid, source]));
    expect([...byUid.values()].map((source) => source.type).sort()).toEqual(['loki', 'prometheus', 'tempo']);
    for (const dashboard of all) {
      const text = JSON.stringify(dashboard.json);
      for (const match of text.matchAll(/"datasource":\{"type":"(\w+)","uid":"([^"]+)"\}/g)) {
        if (match[1] === 'grafana') continue;
        expect(byUid.get(match[2]!)?.type, `${dashboard.file}: ${match[0]}`).toBe(match[1]);
      }
    }
    const loki = byUid.get('loki')!.jsonData as { derivedFields: { matcherRegex: string; datasourceUid: string; url: string }[] };
    expect(loki.derivedFields).toContainEqual(expect.objectContaining({ datasourceUid: 'tempo', url: '$${__value.raw}' }));
    const regex = new RegExp(loki.derivedFields[0]!.matcherRegex);
    // a pino line of the bot, as Loki holds it
    expect(regex.exec('{"level":30,"app":"btcbot","module":"trades","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","msg":"buy filled at 49000"}')?.[1]).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    const tempo = byUid.get('tempo')!.jsonData as { tracesToLogsV2: { datasourceUid: string; query: string } };
    expect(tempo.tracesToLogsV2.datasourceUid).toBe('loki');
    expect(tempo.tracesToLogsV2.query).toContain('trace_id = "$${__trace.traceId}"');
    const dashboardsProvider = parse(readFileSync(path.join(OPS, 'grafana/provisioning/dashboards/dashboards.yml'), 'utf8')) as { providers: { options: { path: string } }[] };
    expect(dashboardsProvider.providers[0]?.options.path).toBe('/etc/grafana/dashboards');
  });
});

describe('metricNames (PromQL)', () => {
  test('keeps the selected metrics, leaves out functions, keywords, labels, ranges, numbers and variables', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le, call) (rate(btcbot_api_latency_seconds_bucket{environment=~"$environment"}[$__rate_interval]))) > 1')).toEqual([
      'btcbot_api_latency_seconds_bucket',
    ]);
    expect(metricNames('time() - max by (environment) (btcbot_backup_last_success_timestamp_seconds) > 26 * 3600')).toEqual(['btcbot_backup_last_success_timestamp_seconds']);
    expect(metricNames('btcbot_actor_up == 0 or btcbot_supervisor_up == 0 unless on (job) up offset 5m')).toEqual(['btcbot_actor_up', 'btcbot_supervisor_up', 'up']);
    expect(metricNames('vector($threshold)')).toEqual([]);
    expect(metricNames('sum(rate(foo_total[1m])) without (instance) / ignoring(x) group_left(y) bar')).toEqual(['foo_total', 'bar']);
    expect(variableMetricNames('label_values(up{job=~"btcbot-.*"}, environment)')).toEqual(['up']);
  });
});
