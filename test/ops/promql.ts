// What the ops stack's tests read from PromQL: the metric names a query selects, and the names the
// app exports (from createMetrics' own registry, in-process).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createMetrics } from '../../src/adapters/telemetry/metrics.js';

export const OPS = path.resolve(import.meta.dirname, '../../ops');

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects (a Grafana query's too: `$var`, `${var}` and
 * `$__rate_interval` are placeholders). Functions, aggregations, keywords, label names and
 * values, ranges and numbers are left out.
 */
export function metricNames(expr: string): string[] {
  let text = expr.replace(/\$\{[^}]*\}|\$\w+/g, ' 1 '); // Grafana's variables
  text = text.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""'); // strings
  text = text.replace(/\{[^}]*\}/g, ' '); // label matchers
  text = text.replace(/\[[^\]]*\]/g, ' '); // ranges and subqueries
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  text = text.replace(/#[^\n]*/g, ' '); // comments
  const names = new Set<string>();
  for (const match of text.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const at = match.index;
    if (at > 0 && /[0-9.]/.test(text[at - 1]!)) continue; // 5m, 1e3
    if (text.slice(at + match[0].length).trimStart().startsWith('(')) continue; // a function or an aggregation
    if (KEYWORDS.has(match[0].toLowerCase())) continue;
    names.add(match[0]);
  }
  return [...names];
}

/** The metric names of a Grafana variable query: `label_values(selector, label)`, `query_result(expr)`, `metrics(regex)`. */
export function variableMetricNames(query: string): string[] {
  const labelValues = /^\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$/s.exec(query);
  if (labelValues) return metricNames(labelValues[1]!);
  const result = /^\s*query_result\((.*)\)\s*$/s.exec(query);
  if (result) return metricNames(result[1]!);
  return [];
}

/** Every series name the app's /metrics can carry: each metric's name, a histogram's _bucket/_sum/_count, a summary's _sum/_count. */
export function exportedNames(): Set<string> {
  const metrics = createMetrics({ environment: 'stage' });
  const names = new Set<string>();
  for (const metric of metrics.registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

/** The backup script's metric (node-exporter's textfile collector): scripts/backup_db.sh writes it. */
export const BACKUP_METRIC = 'btcbot_backup_last_success_timestamp_seconds';
/** Series Prometheus makes itself for each target. */
export const PROMETHEUS_BUILTINS = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added'];

/** Every name a dashboard or an alert may query. */
export function allowedNames(): Set<string> {
  return new Set([...exportedNames(), ...PROMETHEUS_BUILTINS, BACKUP_METRIC]);
}

export interface DashboardQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly datasource: string;
  readonly expr: string;
}

interface Panel {
  title?: string;
  datasource?: { type?: string };
  targets?: { datasource?: { type?: string }; expr?: string; query?: string }[];
  panels?: Panel[];
}

export interface Dashboard {
  readonly file: string;
  readonly json: {
    uid: string;
    title: string;
    panels: Panel[];
    templating: { list: { name: string; type: string; datasource?: { type?: string }; definition?: string; query?: unknown }[] };
  };
}

/** Every dashboard JSON under ops/grafana/dashboards. */
export function dashboards(): Dashboard[] {
  const dir = path.join(OPS, 'grafana/dashboards');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => ({ file: name, json: JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as Dashboard['json'] }));
}

/** Every query of a dashboard's panels (rows' nested panels too), with its data source type. */
export function dashboardQueries(dashboard: Dashboard): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  const visit = (panel: Panel): void => {
    for (const target of panel.targets ?? []) {
      const datasource = target.datasource?.type ?? panel.datasource?.type ?? 'prometheus';
      const expr = target.expr ?? target.query;
      if (typeof expr === 'string') queries.push({ dashboard: dashboard.file, panel: panel.title ?? '', datasource, expr });
    }
    for (const child of panel.panels ?? []) visit(child);
  };
  for (const panel of dashboard.json.panels) visit(panel);
  return queries;
}
