// The ops stack's Prometheus files, checked by Prometheus' own tool (promtool, Debian package
// prometheus): the configuration, the alert rules, and the rules' unit tests (one per alert).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { promtool, promtoolSkipReason } from '../support/promtool.js';
import { allowedNames, metricNames, OPS } from './promql.js';

const CONFIG = path.join(OPS, 'prometheus/prometheus.yml');
const RULES = path.join(OPS, 'prometheus/rules/btcbot.rules.yml');
const TESTS = path.join(OPS, 'prometheus/tests');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}

const rules = (parse(readFileSync(RULES, 'utf8')) as RuleFile).groups.flatMap((group) => group.rules);
const alerts = new Map(rules.filter((rule) => rule.alert !== undefined).map((rule) => [rule.alert!, rule]));
const testFiles = readdirSync(TESTS)
  .filter((name) => name.endsWith('.yml'))
  .map((name) => path.join(TESTS, name));

function run(args: string[]): { code: number | null; output: string } {
  const result = spawnSync(promtool!, args, { encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('ops/prometheus', () => {
  test.skipIf(promtool === undefined)(`promtool check config ops/prometheus/prometheus.yml ${promtool === undefined ? `(${promtoolSkipReason})` : ''}`, () => {
    const check = run(['check', 'config', CONFIG]);
    expect(check.code, check.output).toBe(0);
  });

  test.skipIf(promtool === undefined)('promtool check rules: every rule file loads', () => {
    const check = run(['check', 'rules', RULES]);
    expect(check.code, check.output).toBe(0);
    expect(check.output).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  test.skipIf(promtool === undefined)('promtool test rules: the unit tests of ops/prometheus/tests pass', () => {
    expect(testFiles.length).toBeGreaterThan(0);
    const check = run(['test', 'rules', ...testFiles]);
    expect(check.code, check.output).toBe(0);
    expect(check.output).not.toContain('FAILED');
  });

  test('every alert has a unit test that sees it fire and one that sees it quiet', () => {
    const firing = new Set<string>();
    const quiet = new Set<string>();
    for (const file of testFiles) {
      const suite = parse(readFileSync(file, 'utf8')) as { rule_files: string[]; tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] };
      expect(suite.rule_files.map((rulesFile) => path.resolve(path.dirname(file), rulesFile))).toContain(RULES);
      for (const unit of suite.tests) {
        for (const check of unit.alert_rule_test ?? []) (check.exp_alerts.length > 0 ? firing : quiet).add(check.alertname);
      }
    }
    for (const name of alerts.keys()) {
      expect(firing, `${name} never seen firing`).toContain(name);
      expect(quiet, `${name} never seen quiet`).toContain(name);
    }
  });

  test('the alerts the deployment asks for are there', () => {
    expect(alerts.get('BtcbotDown')).toMatchObject({ expr: expect.stringMatching(/^up\{.*\} == 0$/), for: '5m' });
    expect(alerts.get('BtcbotUnhealthy')?.expr).toMatch(/btcbot_actor_up|btcbot_supervisor_up|btcbot_grid_state/);
    expect(alerts.get('BtcbotApiLatencyHigh')?.expr).toMatch(/histogram_quantile\(.*btcbot_api_latency_seconds_bucket.*\)\s*> 1\s*$/s);
    expect(alerts.get('BtcbotRestartStorm')?.expr).toContain('increase(btcbot_supervisor_restarts_total');
    expect(alerts.get('BtcbotBackupStale')?.expr).toMatch(/time\(\) - .*btcbot_backup_last_success_timestamp_seconds.*> 26 \* 3600/);
    for (const rule of alerts.values()) expect(rule.labels?.severity).toMatch(/^(critical|warning|info)$/);
  });

  test('the rules query only metrics the app exports (or Prometheus makes, or the backup script writes)', () => {
    const allowed = allowedNames();
    for (const rule of rules) {
      const names = metricNames(rule.expr);
      expect(names.length, rule.expr).toBeGreaterThan(0);
      for (const name of names) expect(allowed, `${rule.alert ?? rule.record}: ${name}`).toContain(name);
    }
  });

  test.skipIf(promtool === undefined)("the backup metric's file as docs/MONITORING.md shows it passes promtool check metrics", () => {
    const doc = readFileSync(path.resolve(OPS, '../docs/MONITORING.md'), 'utf8');
    const example = /```\n(# HELP btcbot_backup_last_success_timestamp_seconds [^`]*)```/.exec(doc)?.[1];
    expect(example).toMatch(/^btcbot_backup_last_success_timestamp_seconds\{environment="prod"\} \d+$/m);
    const check = spawnSync(promtool!, ['check', 'metrics'], { input: example, encoding: 'utf8', timeout: 30_000 });
    expect(`${check.stdout}${check.stderr}`).toBe('');
    expect(check.status).toBe(0);
  });

  test('the scrape jobs: stage and prod labelled with their environment, the backup metric through node-exporter', () => {
    const config = parse(readFileSync(CONFIG, 'utf8')) as { scrape_configs: { job_name: string; static_configs: { targets: string[]; labels?: Record<string, string> }[] }[] };
    const jobs = new Map(config.scrape_configs.map((job) => [job.job_name, job]));
    expect(jobs.get('btcbot-stage')?.static_configs).toEqual([{ targets: ['btcbot-stage:8080'], labels: { app: 'btcbot', environment: 'stage' } }]);
    expect(jobs.get('btcbot-prod')?.static_configs).toEqual([{ targets: ['btcbot-prod:8080'], labels: { app: 'btcbot', environment: 'prod' } }]);
    expect(jobs.get('node-exporter')?.static_configs[0]?.targets).toEqual(['node-exporter:9100']);
  });
});
