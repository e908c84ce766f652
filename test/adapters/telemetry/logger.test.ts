// Log lines: app, module and environment on every JSON line; the active span's trace_id and
// span_id when there is one; LOG_LEVEL and --log-level.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startInMemoryTracing, type InMemoryTracing } from '../../../src/adapters/telemetry/in-memory-tracing.js';
import { createLogger, moduleLogger } from '../../../src/adapters/telemetry/logger.js';
import { logLevelFrom } from '../../../src/cli/shared/log-flags.js';
import { UsageError } from '../../../src/config/usage-error.js';

let tracing: InMemoryTracing;
beforeAll(() => {
  tracing = startInMemoryTracing();
});
afterAll(async () => {
  await tracing.shutdown();
});

function jsonLines(level: 'debug' | 'info' | 'warn' = 'debug') {
  const raw: string[] = [];
  const logger = createLogger({ format: 'json', level, write: (line) => raw.push(line) });
  return { raw, logger, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('JSON log lines', () => {
  test('carry app, the bound environment and module; a child of a child replaces a binding without repeating the key', () => {
    const { raw, logger, lines } = jsonLines();
    const root = logger.child({ environment: 'stage' });
    moduleLogger(root, 'grid').info({ grid: 'g1' }, 'grid started');
    moduleLogger(moduleLogger(root, 'grid'), 'orders').warn({ clientOrderId: 'bbg1_1b1' }, 'order not placed');
    root.info({}, 'no module');
    expect(lines()).toMatchObject([
      { app: 'btcbot', environment: 'stage', module: 'grid', grid: 'g1', msg: 'grid started', level: 30 },
      { app: 'btcbot', environment: 'stage', module: 'orders', clientOrderId: 'bbg1_1b1', msg: 'order not placed', level: 40 },
      { app: 'btcbot', environment: 'stage', msg: 'no module' },
    ]);
    expect(raw[1]!.match(/"module"/g)).toHaveLength(1);
    expect(lines()[2]).not.toHaveProperty('module');
  });

  test("a line written inside a span carries that span's trace_id and span_id (in what it awaits too); outside, none", async () => {
    const { logger, lines } = jsonLines();
    const log = moduleLogger(logger, 'trades');
    const span = tracing.port.start('test.span', {}, null);
    span.run(() => log.info({}, 'inside'));
    await span.run(async () => {
      await sleep(1);
      log.info({}, 'after an await');
    });
    const child = tracing.port.start('test.child', {}, span);
    child.run(() => log.info({}, 'in the child'));
    child.end();
    span.end();
    log.info({}, 'outside');

    const [inside, awaited, inChild, outside] = lines();
    const { traceId, spanId } = tracing.spans().find((s) => s.name === 'test.span')!.spanContext();
    expect(inside).toMatchObject({ trace_id: traceId, span_id: spanId, module: 'trades', app: 'btcbot' });
    expect(awaited).toMatchObject({ trace_id: traceId, span_id: spanId });
    expect(inChild).toMatchObject({ trace_id: traceId, span_id: tracing.spans().find((s) => s.name === 'test.child')!.spanContext().spanId });
    expect(outside).not.toHaveProperty('trace_id');
    expect(outside).not.toHaveProperty('span_id');
  });

  test('the level drops what is below it', () => {
    const { logger, lines } = jsonLines('warn');
    logger.info({}, 'dropped');
    logger.warn({}, 'kept');
    expect(lines().map((line) => line['msg'])).toEqual(['kept']);
  });
});

describe('text log lines', () => {
  test('show the module first and the other bindings as fields, not the environment', () => {
    const out: string[] = [];
    const logger = createLogger({ format: 'text', level: 'info', write: (line) => out.push(line) });
    const grid = moduleLogger(logger.child({ environment: 'prod' }), 'grid');
    grid.info({ grid: 'g1', price: 50_000 }, 'grid started');
    grid.child({ run: 2 }).warn({}, 'again');
    grid.debug({}, 'dropped');
    logger.info({}, 'plain');
    expect(out).toEqual(['info [grid]: grid started (grid=g1 price=50000)\n', 'warn [grid]: again (run=2)\n', 'info: plain\n']);
  });
});

describe('the log level: --log-level, else LOG_LEVEL, else the command default', () => {
  test('precedence', () => {
    expect(logLevelFrom(undefined, {}, 'info')).toBe('info');
    expect(logLevelFrom(undefined, { LOG_LEVEL: 'debug' }, 'info')).toBe('debug');
    expect(logLevelFrom(undefined, { LOG_LEVEL: ' WARN ' }, 'info')).toBe('warn');
    expect(logLevelFrom(undefined, { LOG_LEVEL: '' }, 'warn')).toBe('warn');
    expect(logLevelFrom('error', { LOG_LEVEL: 'debug' }, 'info')).toBe('error');
    expect(logLevelFrom('silent', {}, 'info')).toBe('silent');
  });

  test('a bad value is a clear usage error naming where it came from', () => {
    expect(() => logLevelFrom(undefined, { LOG_LEVEL: 'verbose' }, 'info')).toThrow('LOG_LEVEL must be debug, info, warn, error or silent, got "verbose"');
    expect(() => logLevelFrom('loud', { LOG_LEVEL: 'debug' }, 'info')).toThrow('--log-level must be debug, info, warn, error or silent, got "loud"');
    expect(() => logLevelFrom(undefined, { LOG_LEVEL: 'x' }, 'info')).toThrow(UsageError);
  });
});
