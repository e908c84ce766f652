// The image from the repository's Dockerfile, on a real Docker engine: it builds without warnings,
// stays under 500 MB, carries the OCI labels, runs as a non-root user under tini, becomes healthy by
// Docker's own HEALTHCHECK (`btcbot health`), and stops with exit code 0 well within the grace period.
// Skips with a visible reason when no engine answers (REQUIRE_DOCKER=1: fails instead).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildImage, containerState, docker, dockerEngine, ensureImage, run, untilHealthy, DOCKER, type BuiltImage } from './docker-harness.js';

describe.skipIf(dockerEngine === undefined)('the btcbot image', () => {
  let image: BuiltImage;
  const containers: string[] = [];
  beforeAll(async () => {
    image = await ensureImage();
    if (image.buildMs !== undefined) console.info(`docker build (this run): ${(image.buildMs / 1000).toFixed(1)} s`);
  }, 900_000);
  afterAll(async () => {
    for (const id of containers) await run(DOCKER, ['rm', '-f', id]);
  });

  test('builds without a warning; a rebuild of unchanged sources is all cache', async () => {
    // The cold build's own log when this run built it; then a warm rebuild, which must reuse every step.
    if (image.log !== undefined) expect(image.log.split('\n').filter((line) => /warn/i.test(line))).toEqual([]);
    const warm = await buildImage(image.tag, image.revision);
    expect(warm.log.split('\n').filter((line) => /warn/i.test(line))).toEqual([]);
    expect(warm.log.match(/^#\d+ CACHED$/gm)?.length ?? 0, warm.log).toBeGreaterThanOrEqual(8);
    console.info(`docker build (warm): ${(warm.ms / 1000).toFixed(1)} s`);
  }, 600_000);

  test('under 500 MB, non-root, tini, SIGTERM, the healthcheck and the OCI labels', async () => {
    const [inspected] = JSON.parse(await docker(['image', 'inspect', image.tag])) as Array<{
      Size: number;
      Config: { User: string; Entrypoint: string[]; Cmd: string[]; StopSignal?: string; Healthcheck?: { Test: string[] }; Labels: Record<string, string>; ExposedPorts: Record<string, unknown> };
    }>;
    const { Config: config, Size: size } = inspected!;
    console.info(`image size: ${(size / 1e6).toFixed(0)} MB`);
    expect(size).toBeLessThan(500e6);
    expect(config.User).toBe('node');
    expect(config.Entrypoint).toEqual(['/usr/bin/tini', '--', 'node', 'dist/cli/main.js']);
    expect(config.Cmd).toEqual(['run', '--config', '/app/config/grid.yaml']);
    expect(config.StopSignal).toBe('SIGTERM');
    expect(config.Healthcheck?.Test).toEqual(['CMD', 'node', 'dist/cli/main.js', 'health']);
    expect(Object.keys(config.ExposedPorts)).toEqual(['8080/tcp']);
    expect(config.Labels).toMatchObject({
      'org.opencontainers.image.revision': image.revision,
      'org.opencontainers.image.licenses': 'MIT',
    });
    for (const label of ['source', 'version', 'created', 'description']) expect(config.Labels[`org.opencontainers.image.${label}`], label).toMatch(/\S/);
    // Production dependencies only: no compiler, no test runner, no second node binary.
    const devDeps = await run(DOCKER, ['run', '--rm', '--entrypoint', 'sh', image.tag, '-c', 'ls node_modules/typescript node_modules/vitest node_modules/node 2>&1; ls dist/cli/main.js db/migrations']);
    expect(devDeps.stdout).toMatch(/typescript.*No such file/);
    expect(devDeps.stdout).toMatch(/vitest.*No such file/);
    expect(devDeps.stdout).toMatch(/node_modules\/node.*No such file/);
    expect(devDeps.stdout).toContain('dist/cli/main.js');
  }, 120_000);

  test('runs as a non-root user, becomes healthy by its own healthcheck, and stops with exit 0 on docker stop', async () => {
    // Paper mode: no exchange, no database server; the image's default grid.
    const id = await docker(['run', '-d', '-e', 'TRADING_MODE=paper', '-p', '127.0.0.1::8080', image.tag]);
    containers.push(id);
    const healthyMs = await untilHealthy(id);
    console.info(`docker run -> healthy: ${(healthyMs / 1000).toFixed(1)} s`);
    expect(await docker(['exec', id, 'id', '-u'])).toBe('1000');
    expect(await docker(['exec', id, 'sh', '-c', 'cat /proc/1/comm'])).toBe('tini');
    const port = (await docker(['port', id, '8080/tcp'])).split(':').pop();
    const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'healthy', version: `0.1.0+${image.revision.slice(0, 7)}`, trading_mode: 'paper', components: { database: {}, websocket: {}, exchange_api: {} } });
    expect(Object.keys(health)).toEqual(expect.arrayContaining(['status', 'version', 'uptime_seconds', 'timestamp', 'environment', 'trading_mode', 'components', 'grids']));
    // The hook Watchtower runs before an update is on PATH in the container.
    const guard = await run(DOCKER, ['exec', id, 'sh', '-c', 'btcbot update-guard']);
    expect(guard.stdout).toMatch(/^(update|wait): /);

    const started = Date.now();
    await docker(['stop', '-t', '15', id]);
    const stopMs = Date.now() - started;
    console.info(`docker stop: ${stopMs} ms`);
    expect(stopMs).toBeLessThan(8_000);
    const state = await containerState(id);
    expect(state).toMatchObject({ status: 'exited', exitCode: 0 });
    const logs = await run(DOCKER, ['logs', id]);
    expect(logs.stderr + logs.stdout).toMatch(/"msg":"[^"]*(stopp|shut)/i);
  }, 180_000);
});
