// The simulator is the judge: after a run against `btcbot exchange-sim`, its books and the bot's
// store must agree. Shared by the acceptance tests that kill the bot or cut its database.
import { expect } from 'vitest';
import type { Sql } from 'postgres';
import type { PostgresStore } from '../../src/adapters/store/postgres-store.js';
import { fillKey } from './fill-key.js';

export interface SimOrder {
  clientOrderId: string;
  side: 'buy' | 'sell';
  price: number;
  amount: number;
  status: string;
  /** When the simulator accepted it (ms). */
  timestamp: number;
}
export interface SimFill {
  clientOrderId: string;
  side: 'buy' | 'sell';
  price: number;
  amount: number;
}

/**
 * No client order id twice; every simulator fill stored once and nothing else; the store's open
 * orders are the simulator's; the book keeps the grid's shape (one order per level, buys below sells).
 */
export async function expectBooksAgree(simOrders: readonly SimOrder[], simFills: readonly SimFill[], store: PostgresStore, gridId: string, symbol: string): Promise<void> {
  const ids = simOrders.map((order) => order.clientOrderId);
  expect(new Set(ids).size, 'an order placed twice').toBe(ids.length);
  expect((await store.fills(symbol)).map(fillKey).sort()).toEqual(simFills.map(fillKey).sort());
  // Each order open on either side, with the store's status for it (what went wrong when they differ).
  const stored = new Map((await store.orders(gridId)).map((order) => [order.clientOrderId, order.status]));
  const open = simOrders.filter((order) => order.status === 'open');
  const openEitherSide = new Set([...open.map((order) => order.clientOrderId), ...[...stored].filter(([, status]) => status === 'open').map(([id]) => id)]);
  expect([...openEitherSide].sort().map((id) => `${id} ${stored.get(id) ?? 'not stored'}`), 'the store says open exactly where the simulator does').toEqual(
    open.map((order) => `${order.clientOrderId} open`).sort(),
  );
  expect(new Set(open.map((order) => order.price)).size).toBe(open.length);
  const buys = open.filter((order) => order.side === 'buy').map((order) => order.price);
  const sells = open.filter((order) => order.side === 'sell').map((order) => order.price);
  if (buys.length > 0 && sells.length > 0) expect(Math.max(...buys)).toBeLessThan(Math.min(...sells));
}

/** Write-ahead: every order the simulator accepted had its intent stored first (the store's created_at is before the simulator's timestamp). */
export async function expectWrittenAhead(simOrders: readonly SimOrder[], sql: Sql): Promise<void> {
  const rows = await sql<Array<{ client_order_id: string; created_ms: number }>>`SELECT client_order_id, (extract(epoch FROM created_at) * 1000)::float8 AS created_ms FROM orders`;
  const storedAt = new Map(rows.map((row) => [row.client_order_id, row.created_ms]));
  const unrecorded = simOrders.filter((order) => !(storedAt.get(order.clientOrderId)! <= order.timestamp));
  expect(unrecorded.map((order) => `${order.clientOrderId} accepted at ${order.timestamp}, stored at ${storedAt.get(order.clientOrderId) ?? 'never'}`)).toEqual([]);
}
