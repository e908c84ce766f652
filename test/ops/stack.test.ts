// The ops stack's compose file and the configs it mounts: every mounted file is in the repo, the
// services the deployment asks for are there (Caddy behind the `tls` profile), the bots are reached
// over each bot stack's own network (btcbot-monitoring-stage / -prod), Alloy labels logs with app/environment/level/module
// only, Tempo receives OTLP on 0.0.0.0, Loki's ruler has the error-burst rule; and `yamllint`
// (Debian package yamllint) finds nothing in the project's YAML (ops/, stacks, workflows, examples).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { yamllint, yamllintSkipReason } from '../support/ops-tools.js';
import { OPS } from './promql.js';

const ROOT = path.resolve(OPS, '..');
const read = (file: string): string => readFileSync(path.join(OPS, file), 'utf8');

interface Service {
  image: string;
  volumes?: string[];
  ports?: string[];
  profiles?: string[];
  networks?: string[];
  command?: string[] | string;
}
const compose = parse(read('docker-compose.monitoring.yml'), { merge: true }) as {
  services: Record<string, Service>;
  networks: Record<string, { name?: string; external?: boolean }>;
};

describe('ops/docker-compose.monitoring.yml', () => {
  test('the services, each from a pinned image', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['alertmanager', 'alloy', 'caddy', 'grafana', 'loki', 'node-exporter', 'prometheus', 'tempo', 'tempo-init'].sort());
    for (const [name, service] of Object.entries(compose.services)) expect(service.image, name).toMatch(/^[\w./-]+:v?\d+\.\d+(\.\d+)?$/);
    expect(compose.services.prometheus!.image).toMatch(/^prom\/prometheus:/);
    expect(compose.services.caddy!.profiles).toEqual(['tls']);
    for (const [name, service] of Object.entries(compose.services)) if (name !== 'caddy') expect(service.profiles, name).toBeUndefined();
  });

  test('every file or folder it mounts from the repo exists', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./')) expect(existsSync(path.join(OPS, source)), `${name}: ${volume}`).toBe(true);
      }
    }
    expect(compose.services.prometheus!.volumes).toContain('./prometheus/rules:/etc/prometheus/rules:ro');
    expect(compose.services.loki!.volumes).toContain('./loki/rules:/etc/loki/rules:ro');
    expect(compose.services.alloy!.volumes).toContain('/var/run/docker.sock:/var/run/docker.sock:ro');
  });

  test("the bots are reached over each stack's own network, joined by Prometheus and Tempo only; the stack's own ports are on 127.0.0.1 (Caddy's aside)", () => {
    expect(compose.networks['bots-stage']).toEqual({ name: 'btcbot-monitoring-stage', external: true });
    expect(compose.networks['bots-prod']).toEqual({ name: 'btcbot-monitoring-prod', external: true });
    for (const [name, service] of Object.entries(compose.services)) {
      if (name === 'tempo-init') continue;
      expect(service.networks, name).toEqual(name === 'prometheus' || name === 'tempo' ? ['monitoring', 'bots-stage', 'bots-prod'] : ['monitoring']);
      if (name !== 'caddy') for (const port of service.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:/);
    }
    // 3000 and 3001 are the bots' host ports (prod, stage).
    const hostPorts = Object.values(compose.services).flatMap((service) => (service.ports ?? []).map((port) => port.split(':').at(-2)));
    expect(hostPorts).not.toContain('3000');
    expect(hostPorts).not.toContain('3001');
  });

  test("node-exporter's textfile collector reads ${BACKUP_DIR}/metrics, where the backup script writes backup-<env>.prom", () => {
    const exporter = compose.services['node-exporter']!;
    expect(exporter.command).toContain('--collector.textfile.directory=/textfile');
    expect(exporter.volumes).toEqual(['${BACKUP_DIR:-/var/backups/btcbot}/metrics:/textfile:ro']);
  });
});

describe('ops/alloy/config.alloy', () => {
  const alloy = read('alloy/config.alloy');

  test('reads the bot containers through Docker and parses their JSON lines', () => {
    expect(alloy).toMatch(/discovery\.docker "containers" \{\s*host\s*= "unix:\/\/\/var\/run\/docker\.sock"/);
    expect(alloy).toContain('regex         = "/btcbot-(stage|prod)"');
    expect(alloy).toMatch(/loki\.source\.docker "btcbot" \{[^}]*targets\s*= discovery\.relabel\.btcbot\.output/);
    expect(alloy).toMatch(/stage\.json \{/);
    expect(alloy).toContain('url = "http://loki:3100/loki/api/v1/push"');
  });

  test('labels: app, environment, level and module, nothing else', () => {
    const labels = /stage\.labels \{\s*values = \{([^}]*)\}/.exec(alloy)?.[1] ?? '';
    expect([...labels.matchAll(/(\w+)\s*=/g)].map((match) => match[1]).sort()).toEqual(['app', 'environment', 'level', 'module']);
    for (const map of alloy.matchAll(/\blabels\s*= \{([^}]*)\}/g)) {
      for (const key of map[1]!.matchAll(/(\w+)\s*=/g)) expect(['app', 'environment', 'level', 'module']).toContain(key[1]);
    }
    const targetLabels = [...alloy.matchAll(/target_label\s*= "(\w+)"/g)].map((match) => match[1]);
    for (const label of targetLabels) expect(['app', 'environment', 'level', 'module']).toContain(label);
    // Loki adds no service_name of its own.
    expect(parse(read('loki/loki.yaml'))).toMatchObject({ limits_config: { discover_service_name: [] } });
  });
});

describe('ops/tempo, ops/loki', () => {
  test('Tempo receives OTLP over gRPC (4317) and HTTP (4318) on 0.0.0.0', () => {
    const tempo = parse(read('tempo/tempo.yaml')) as { distributor: { receivers: { otlp: { protocols: Record<string, { endpoint: string }> } } } };
    expect(tempo.distributor.receivers.otlp.protocols).toEqual({ grpc: { endpoint: '0.0.0.0:4317' }, http: { endpoint: '0.0.0.0:4318' } });
    expect(compose.services.tempo!.volumes).toContain('./tempo/tempo.yaml:/etc/tempo/tempo.yaml:ro');
  });

  test("Loki's ruler: the error-burst alert on level 50/60 lines, sent to Alertmanager", () => {
    const loki = parse(read('loki/loki.yaml')) as { auth_enabled: boolean; ruler: { storage: { local: { directory: string } }; alertmanager_url: string } };
    expect(loki.auth_enabled).toBe(false); // one tenant: "fake", the rules' folder name
    expect(loki.ruler.storage.local.directory).toBe('/etc/loki/rules');
    expect(loki.ruler.alertmanager_url).toBe('http://alertmanager:9093');
    const rules = parse(read('loki/rules/fake/btcbot.rules.yml')) as { groups: { rules: { alert: string; expr: string; labels: { severity: string } }[] }[] };
    const burst = rules.groups.flatMap((group) => group.rules).find((rule) => rule.alert === 'BtcbotErrorLogBurst');
    expect(burst?.expr).toMatch(/count_over_time\(\{app="btcbot", level=~"50\|60"\}\[5m\]\)/);
    expect(burst?.labels.severity).toBe('warning');
  });

  test('Caddy proxies Grafana', () => {
    expect(read('caddy/Caddyfile')).toMatch(/reverse_proxy grafana:3000/);
  });
});

describe('yamllint', () => {
  test.skipIf(yamllint === undefined)(`every YAML file of the project is clean: ops/, the compose stacks, the workflows, the examples ${yamllint === undefined ? `(${yamllintSkipReason})` : ''}`, () => {
    const files = ['ops', '.github', 'docker-compose.stage.yml', 'docker-compose.prod.yml', 'examples', '.yamllint'];
    const run = spawnSync(yamllint!, ['--strict', '--format', 'parsable', ...files], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    if (run.error) throw run.error;
    expect(`${run.stdout}${run.stderr}`).toBe('');
    expect(run.status).toBe(0);
  });
});
