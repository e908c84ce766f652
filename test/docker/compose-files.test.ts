// The compose files as written (no Docker needed): what each stack promises in docs/DEPLOYMENT.md,
// service by service: images and ports, healthy start order, stop grace above the bot's 8 s,
// rotated logs, secrets as files, an unpublished database left alone by Watchtower, a Watchtower
// scoped to its stack with the update-guard hook, nothing shared between stage and prod, and every
// variable listed in the stack's .env example.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** docker-compose (v1) or `docker compose` (v2), when either is installed: `config` needs no engine. */
const composeCommand = ((): string[] | undefined => {
  if (spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0) return ['docker-compose'];
  if (spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0) return ['docker', 'compose'];
  if (process.env.REQUIRE_DOCKER === '1') throw new Error('REQUIRE_DOCKER=1 but neither docker-compose nor docker compose is installed');
  console.warn('SKIP: neither docker-compose nor docker compose is installed: `docker-compose config` of the stacks is skipped');
  return undefined;
})();

interface Service {
  image: string;
  restart?: string;
  ports?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  labels?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
  healthcheck?: { test: string[] };
  logging?: { driver: string; options: Record<string, string> };
  networks?: string[];
  volumes?: string[];
}

interface ComposeFile {
  services: Record<string, Service>;
  networks: Record<string, unknown>;
  volumes: Record<string, unknown>;
  secrets: Record<string, { file: string }>;
}

const read = (kind: string): ComposeFile => parse(readFileSync(path.join(ROOT, `docker-compose.${kind}.yml`), 'utf8'), { merge: true }) as ComposeFile;

const STACKS = [
  { kind: 'stage', bot: 'btcbot-stage', db: 'btcbot-stage-db', watchtower: 'watchtower-stage', image: '${DOCKER_USERNAME}/btcbot:stage', port: '${BTCBOT_STAGE_BIND:-3001}:8080', mode: 'demo', environment: 'stage' },
  { kind: 'prod', bot: 'btcbot-prod', db: 'btcbot-prod-db', watchtower: 'watchtower-prod', image: '${DOCKER_USERNAME}/btcbot:latest', port: '${BTCBOT_PROD_BIND:-3000}:8080', mode: 'live', environment: 'prod' },
] as const;

describe.each(STACKS)('docker-compose.$kind.yml', (stack) => {
  const file = read(stack.kind);
  const bot = file.services[stack.bot]!;
  const db = file.services[stack.db]!;
  const watchtower = file.services[stack.watchtower]!;

  test('the bot: image, port, mode, start after a healthy database, 15 s to stop, rotated logs', () => {
    expect(Object.keys(file.services).sort()).toEqual([stack.bot, stack.db, stack.watchtower].sort());
    expect(bot).toMatchObject({ image: stack.image, restart: 'unless-stopped', ports: [stack.port], stop_grace_period: '15s', depends_on: { [stack.db]: { condition: 'service_healthy' } } });
    expect(bot.environment).toMatchObject({ TRADING_MODE: stack.mode, ENVIRONMENT: stack.environment, HTTP_HOST: '0.0.0.0', HTTP_PORT: '8080' });
    for (const service of Object.values(file.services)) expect(service.logging).toEqual({ driver: 'json-file', options: { 'max-size': '10m', 'max-file': '5' } });
  });

  test('secrets as files: every *_FILE names a secret the service mounts, no secret value in the environment', () => {
    const fileVariables = Object.entries(bot.environment!).filter(([name]) => name.endsWith('_FILE'));
    expect(fileVariables.map(([name]) => name).sort()).toEqual(
      (stack.kind === 'prod' ? ['API_TOKEN_FILE', 'DATABASE_URL_FILE', 'EXCHANGE_API_KEY_FILE', 'EXCHANGE_API_SECRET_FILE'] : ['API_TOKEN_FILE', 'DATABASE_URL_FILE']).sort(),
    );
    for (const [, value] of fileVariables) expect(bot.secrets).toContain(value.replace('/run/secrets/', ''));
    for (const name of ['EXCHANGE_API_KEY', 'EXCHANGE_API_SECRET', 'API_TOKEN', 'DATABASE_URL', 'POSTGRES_PASSWORD']) {
      expect(bot.environment).not.toHaveProperty(name);
      expect(db.environment).not.toHaveProperty(name);
    }
    expect(db.environment).toMatchObject({ POSTGRES_PASSWORD_FILE: '/run/secrets/postgres_password' });
    for (const secret of Object.values(file.secrets)) expect(secret.file).toMatch(new RegExp(`^\\$\\{BTCBOT_SECRETS_DIR:-\\./secrets/${stack.kind}\\}/`));
  });

  test('the database: postgres:15, pg_isready, own volume, never published, not updated by Watchtower', () => {
    expect(db).toMatchObject({ image: 'postgres:15', restart: 'unless-stopped', volumes: [`${stack.kind}-db-data:/var/lib/postgresql/data`], networks: [stack.kind] });
    expect(db.healthcheck!.test.join(' ')).toContain('pg_isready');
    expect(db.ports).toBeUndefined();
    expect(db.labels).toMatchObject({ 'com.centurylinklabs.watchtower.enable': 'false' });
  });

  test('Watchtower: label-enabled, scoped to this stack, lifecycle hooks on, update-guard before an update', () => {
    const scope = `btcbot-${stack.kind}`;
    expect(watchtower.image).toBe('nickfedor/watchtower');
    expect(watchtower.environment).toMatchObject({ WATCHTOWER_LABEL_ENABLE: 'true', WATCHTOWER_SCOPE: scope, WATCHTOWER_LIFECYCLE_HOOKS: 'true', WATCHTOWER_TIMEOUT: '15s' });
    expect(watchtower.labels).toMatchObject({ 'com.centurylinklabs.watchtower.scope': scope });
    expect(bot.labels).toMatchObject({
      'com.centurylinklabs.watchtower.enable': 'true',
      'com.centurylinklabs.watchtower.scope': scope,
      'com.centurylinklabs.watchtower.lifecycle.pre-update': 'btcbot update-guard',
    });
    expect(db.labels).toMatchObject({ 'com.centurylinklabs.watchtower.scope': scope });
  });

  test(`.env.${stack.kind}.example lists every variable the file reads`, () => {
    const text = readFileSync(path.join(ROOT, `docker-compose.${stack.kind}.yml`), 'utf8');
    const used = new Set([...text.matchAll(/\$\{([A-Z_]+)/g)].map((match) => match[1]!));
    const listed = new Set([...readFileSync(path.join(ROOT, `.env.${stack.kind}.example`), 'utf8').matchAll(/^([A-Z_]+)=/gm)].map((match) => match[1]!));
    expect([...used].filter((name) => !listed.has(name))).toEqual([]);
  });
});

test('stage and prod share no network, volume, service or Watchtower scope', () => {
  const [stage, prod] = [read('stage'), read('prod')];
  const overlap = (a: object, b: object): string[] => Object.keys(a).filter((key) => key in b);
  expect(overlap(stage.services, prod.services)).toEqual([]);
  expect(overlap(stage.networks, prod.networks)).toEqual([]);
  expect(overlap(stage.volumes, prod.volumes)).toEqual([]);
  // The networks the monitoring stack reaches each bot on are two (it joins both), and the fixed
  // container names differ too.
  expect(stage.networks['stage-monitoring']).toEqual({ name: '${BTCBOT_STAGE_MONITORING_NETWORK:-btcbot-monitoring-stage}' });
  expect(prod.networks['prod-monitoring']).toEqual({ name: '${BTCBOT_PROD_MONITORING_NETWORK:-btcbot-monitoring-prod}' });
  expect(stage.services['btcbot-stage']).toMatchObject({ container_name: '${BTCBOT_STAGE_CONTAINER:-btcbot-stage}', networks: ['stage', 'stage-monitoring'] });
  expect(prod.services['btcbot-prod']).toMatchObject({ container_name: '${BTCBOT_PROD_CONTAINER:-btcbot-prod}', networks: ['prod', 'prod-monitoring'] });
});

describe('the compose files by the real tools', () => {
  const files = ['docker-compose.stage.yml', 'docker-compose.prod.yml', 'ops/docker-compose.monitoring.yml'];

  test('dclint (the docker-compose linter) finds no error (its rules that contradict the design are turned off in .dclintrc.yaml, each with why)', () => {
    const run = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/dclint/bin/dclint.cjs'), '-c', '.dclintrc.yaml', '--color', 'false', ...files], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    if (run.error) throw run.error;
    const output = `${run.stdout}${run.stderr}`;
    expect(output, output).toMatch(/\(0 errors?, \d+ warnings?\)|^\s*$/m);
    expect(run.status, output).toBe(0);
  });

  test.skipIf(composeCommand === undefined)(`docker-compose config accepts each stack with its .env example ${composeCommand === undefined ? '(SKIP: no docker-compose)' : ''}`, () => {
    for (const kind of ['stage', 'prod']) {
      const [command, ...rest] = composeCommand!;
      const run = spawnSync(command!, [...rest, '--env-file', `.env.${kind}.example`, '-f', `docker-compose.${kind}.yml`, 'config', '-q'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      if (run.error) throw run.error;
      expect(`${run.stdout}${run.stderr}`, kind).toBe('');
      expect(run.status, kind).toBe(0);
    }
  });
});
