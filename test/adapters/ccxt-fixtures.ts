// ccxt's recorded request/response fixtures (../shared/fixtures/ccxt, read in place) and a fake
// HTTP client for ccxt's `fetchImplementation`: it answers from configured routes, records every
// request, and never touches the network.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sharedDir } from '../shared.js';

type Json = unknown;

interface FixtureCase {
  readonly description: string;
  readonly method: string;
  readonly input: readonly Json[];
  readonly url?: string;
  readonly output?: string | null;
  readonly httpResponse?: Json;
}

interface FixtureFile {
  readonly skipKeys?: readonly string[];
  readonly methods: Record<string, FixtureCase[]>;
}

const cache = new Map<string, FixtureFile | Record<string, unknown>>();

function load(kind: string, exchange: string): unknown {
  const key = `${kind}/${exchange}`;
  if (!cache.has(key)) cache.set(key, JSON.parse(readFileSync(path.join(sharedDir, 'fixtures/ccxt', kind, `${exchange}.json`), 'utf8')));
  return cache.get(key);
}

function findCase(kind: 'request' | 'response', exchange: string, method: string, description: string): FixtureCase {
  const file = load(kind, exchange) as FixtureFile;
  const found = file.methods[method]?.find((entry) => entry.description === description);
  if (!found) throw new Error(`no ${kind} fixture ${exchange}.${method} "${description}"`);
  return found;
}

/** The raw exchange answer recorded for a ccxt method (a deep copy, free to edit). */
export function recordedResponse(exchange: string, method: string, description: string): Json {
  const body = findCase('response', exchange, method, description).httpResponse;
  return typeof body === 'string' ? JSON.parse(body) : structuredClone(body);
}

export interface ExpectedRequest {
  readonly path: string;
  /** Query and body parameters, without the fixture's skipKeys (timestamp, signature, ...). */
  readonly params: Record<string, string>;
  readonly skipKeys: readonly string[];
}

/** The request ccxt's own tests expect for a method call (path and parameters). */
export function recordedRequest(exchange: string, method: string, description: string): ExpectedRequest {
  const file = load('request', exchange) as FixtureFile;
  const entry = findCase('request', exchange, method, description);
  const url = new URL(entry.url!);
  const skipKeys = file.skipKeys ?? [];
  const params = paramsOf(url.search, typeof entry.output === 'string' ? entry.output : undefined, skipKeys);
  return { path: url.pathname, params, skipKeys };
}

function paramsOf(search: string, body: string | undefined, skipKeys: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const source of [search, body ?? '']) {
    for (const [key, value] of new URLSearchParams(source.replace(/^\?&?/, ''))) {
      if (!skipKeys.includes(key) && key !== '') params[key] = value;
    }
  }
  return params;
}

/**
 * ccxt's market snapshots hold precisions as decimal places (older snapshots), while bingx and
 * binance run in TICK_SIZE mode now: convert digits to steps so ccxt's own priceToPrecision /
 * amountToPrecision and marketInfoFromCcxt see what the live exchange gives.
 */
export function tickSizeMarkets(exchange: string): Record<string, unknown> {
  const markets = structuredClone(load('markets', exchange)) as Record<string, { precision?: Record<string, number | undefined> | null }>;
  for (const market of Object.values(markets)) {
    if (!market.precision) continue;
    for (const [key, digits] of Object.entries(market.precision)) {
      if (typeof digits === 'number') market.precision[key] = Number((10 ** -digits).toFixed(Math.max(0, digits)));
    }
  }
  return markets;
}

export interface SeenRequest {
  readonly method: string;
  readonly url: URL;
  readonly path: string;
  /** Query and urlencoded body parameters together. */
  readonly params: Record<string, string>;
  readonly headers: Record<string, string>;
}

interface Route {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly body: Json | string;
}

/** A fetch that answers from routes (method + path); anything else is recorded as unexpected. */
export class FakeHttp {
  readonly requests: SeenRequest[] = [];
  readonly unexpected: string[] = [];
  private routes: Route[] = [];

  answer(method: string, path: string, body: Json | string, status = 200): this {
    this.routes = this.routes.filter((route) => !(route.method === method && route.path === path));
    this.routes.push({ method, path, status, body });
    return this;
  }

  readonly fetch = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const method = (init?.method ?? 'GET').toUpperCase();
    const body = typeof init?.body === 'string' ? init.body : undefined;
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries((init?.headers ?? {}) as Record<string, string>)) headers[key.toLowerCase()] = String(value);
    const params = paramsOf(url.search, body !== undefined && !body.trimStart().startsWith('{') ? body : undefined, []);
    this.requests.push({ method, url, path: url.pathname, params, headers });
    const route = this.routes.find((candidate) => candidate.method === method && candidate.path === url.pathname);
    if (!route) {
      this.unexpected.push(`${method} ${url.pathname}`);
      return new Response('{"code":-1,"msg":"no fixture route"}', { status: 404, headers: { 'content-type': 'application/json' } });
    }
    const text = typeof route.body === 'string' ? route.body : JSON.stringify(route.body);
    return new Response(text, { status: route.status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
}
