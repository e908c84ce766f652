// The Docker engine tests' tools: whether an engine answers (else the tests skip with a visible
// reason, and fail instead with REQUIRE_DOCKER=1, as CI sets it), the stand-in base images and
// btcbot's image built once per source state and shared by the test files, and async wrappers of
// the docker and docker-compose CLIs (async: the exchange simulator's forwarder runs in this process).
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, connect, type Server, type AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Debian's docker.io CLI when it is there (.ci/run installs it): it builds with its built-in
 * BuildKit, where a newer CLI without the buildx plugin falls back to the deprecated builder.
 */
export const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
/** docker-compose v1 (Debian's docker-compose), else the CLI's compose plugin. */
const COMPOSE: readonly string[] = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0 ? ['docker-compose'] : [DOCKER, 'compose'];

function engineVersion(): string | undefined {
  const answer = spawnSync(DOCKER, ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 15_000 });
  return answer.status === 0 && answer.stdout.trim() !== '' ? answer.stdout.trim() : undefined;
}

export const dockerEngine = engineVersion();
export const dockerSkipReason = `no Docker engine answers (${DOCKER} info): the image and compose tests are skipped (apt-get install docker.io docker-compose debootstrap; start dockerd)`;
if (dockerEngine === undefined) {
  if (process.env.REQUIRE_DOCKER === '1') throw new Error(`REQUIRE_DOCKER=1 but ${dockerSkipReason}`);
  console.warn(`SKIP: ${dockerSkipReason}`);
}

export interface Exec {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** Runs `file args`; resolves with its output and exit code (never rejects on a non-zero exit). */
export function run(file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; replaceEnv?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<Exec> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd: options.cwd ?? ROOT, env: { ...(options.replaceEnv ?? process.env), ...options.env }, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stderr}`));
        resolve({ stdout, stderr, code: error ? (error.code as number) : 0 });
      },
    );
  });
}

/** `docker args`; fails with its stderr unless it exits 0. */
export async function docker(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  const result = await run(DOCKER, args, { ...options, env: { DOCKER_BUILDKIT: '1', ...options.env } });
  if (result.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`);
  return result.stdout.trim();
}

/** docker-compose with `file`, project `project` and `envFile`; fails with its output unless it exits 0. */
export async function compose(project: string, file: string, envFile: string, args: readonly string[], timeoutMs = 180_000): Promise<string> {
  const [command, ...rest] = COMPOSE;
  // Compose prefers this process's environment to the env file: the file's variables are taken out of it.
  const fromFile = new Set(readFileSync(envFile, 'utf8').split('\n').map((line) => line.split('=')[0]!.trim()));
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !fromFile.has(name)));
  const result = await run(command!, [...rest, '--env-file', envFile, '-f', path.join(ROOT, file), '-p', project, ...args], { timeoutMs, replaceEnv: env });
  if (result.code !== 0) throw new Error(`docker-compose -p ${project} ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`);
  return result.stdout.trim();
}

async function imageExists(tag: string): Promise<boolean> {
  return (await run(DOCKER, ['image', 'inspect', tag])).code === 0;
}

/** Builds the stand-in bases (test/docker/base-images.sh: it skips what exists); one builder at a time across test files. */
export async function ensureBaseImages(): Promise<void> {
  const built = await run('flock', ['/tmp/btcbot-docker-base-images.lock', path.join(ROOT, 'test/docker/base-images.sh')], { env: { DOCKER }, timeoutMs: 600_000 });
  if (built.code !== 0) throw new Error(`building the stand-in base images failed (it needs root for debootstrap):\n${built.stdout}${built.stderr}`);
}

/** The files the image is built from (.dockerignore's list), for the tag: a source change is a new image. */
const CONTEXT = ['Dockerfile', '.dockerignore', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'LICENSE', 'examples/docker.yaml', 'src', 'db/migrations'];

function contextHash(): string {
  const hash = createHash('sha256');
  const add = (relative: string): void => {
    const full = path.join(ROOT, relative);
    if (statSync(full).isDirectory()) {
      for (const entry of readdirSync(full).sort()) add(path.join(relative, entry));
    } else {
      hash.update(relative).update('\0').update(readFileSync(full)).update('\0');
    }
  };
  CONTEXT.forEach(add);
  return hash.digest('hex').slice(0, 16);
}

export interface BuiltImage {
  readonly tag: string;
  /** The revision the image carries (its label, and /health's version). */
  readonly revision: string;
  /** How long this process's build took; undefined when the image was there already. */
  readonly buildMs?: number;
  /** The build's output, when this process built it. */
  readonly log?: string;
}

/** `docker build` of the repository's Dockerfile with the OCI build args; `revision` tells apart an image's rebuilds. */
export async function buildImage(tag: string, revision: string): Promise<{ ms: number; log: string }> {
  const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const started = Date.now();
  const args = ['build', '--progress=plain', '-t', tag, '--build-arg', `REVISION=${revision}`, '--build-arg', `VERSION=${version}`, '--build-arg', `CREATED=${new Date().toISOString()}`, ROOT];
  const result = await run('flock', ['/tmp/btcbot-docker-image-build.lock', DOCKER, ...args], { env: { DOCKER_BUILDKIT: '1' }, timeoutMs: 600_000 });
  if (result.code !== 0) throw new Error(`docker build failed:\n${result.stderr}${result.stdout}`);
  return { ms: Date.now() - started, log: `${result.stdout}${result.stderr}` };
}

/** btcbot's image for the current sources (built unless it exists), on the stand-in bases. */
export async function ensureImage(): Promise<BuiltImage> {
  await ensureBaseImages();
  const revision = contextHash();
  const tag = `btcbot-test/btcbot:${revision}`;
  if (await imageExists(tag)) return { tag, revision };
  const { ms, log } = await buildImage(tag, revision);
  // The images of earlier sources would pile up (400 MB each): the test files of one run share this one.
  const older = (await docker(['images', '--format', '{{.Repository}}:{{.Tag}}', 'btcbot-test/btcbot'])).split('\n').filter((name) => name !== '' && name !== tag);
  if (older.length > 0) await run(DOCKER, ['rmi', ...older]);
  return { tag, revision, buildMs: ms, log };
}

/** A free TCP port on 127.0.0.1 (for a published port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The host's address on Docker's default bridge (docker0): containers on any bridge network reach it. */
export function dockerHostAddress(): string {
  const docker0 = networkInterfaces()['docker0']?.find((address) => address.family === 'IPv4');
  return docker0?.address ?? '172.17.0.1';
}

/**
 * `btcbot exchange-sim` listens on 127.0.0.1 only; containers reach it through this forwarder on
 * the docker0 address (not on every interface: the test's ports stay off the outside network).
 */
export async function forwardToContainers(port: number): Promise<{ url: string; close(): Promise<void> }> {
  const host = dockerHostAddress();
  const server: Server = createServer((inbound) => {
    const outbound = connect(port, '127.0.0.1');
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port: forwarded } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${forwarded}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.unref();
      }),
  };
}

export interface ContainerState {
  readonly status: string;
  readonly health?: string;
  readonly exitCode: number;
  readonly restartCount: number;
  readonly startedAt: string;
}

export async function containerState(id: string): Promise<ContainerState> {
  const [status, health, exitCode, restartCount, startedAt] = (await docker(['inspect', '-f', '{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.State.ExitCode}}|{{.RestartCount}}|{{.State.StartedAt}}', id])).split('|');
  return { status: status!, ...(health ? { health } : {}), exitCode: Number(exitCode), restartCount: Number(restartCount), startedAt: startedAt! };
}

/** Waits until Docker's own healthcheck calls the container healthy; returns how long it took. */
export async function untilHealthy(id: string, timeoutMs = 90_000): Promise<number> {
  const started = Date.now();
  let state: ContainerState | undefined;
  while (Date.now() - started < timeoutMs) {
    state = await containerState(id);
    if (state.health === 'healthy') return Date.now() - started;
    if (state.status === 'exited' || state.status === 'dead') break;
    await sleep(250);
  }
  const logs = await run(DOCKER, ['logs', '--tail', '40', id]);
  throw new Error(`container ${id.slice(0, 12)} not healthy within ${timeoutMs} ms (last ${JSON.stringify(state)}); its logs:\n${logs.stdout}${logs.stderr}`);
}

/** Polls `check` until it returns a value other than undefined, or fails naming `what`. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(everyMs);
  }
}
