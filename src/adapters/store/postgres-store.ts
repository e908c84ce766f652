// The store of the long-running modes, on Postgres (a server, or the embedded PGlite) through
// postgres.js. Writes are idempotent, so a write retried after a crash or a lost answer does no
// harm: an intent is keyed by its client order id, a fill by (symbol, trade id).
import type { Sql } from 'postgres';
import type { GridConfig } from '../../config/grid-config.js';
import type { FillPageQuery } from '../../domain/grid-control.js';
import type { Fill, OrderIntent } from '../../domain/trading.js';
import type { JournalAppend, JournalEntry, JournalPosition, OrderUpdate, PaperAccountStore, SavedGrid, StorePort } from './port.js';

/** An order as stored. */
export interface StoredOrder {
  readonly clientOrderId: string;
  readonly gridId: string;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly type: 'limit' | 'market';
  readonly level: number;
  readonly price: number | undefined;
  readonly amount: number;
  readonly filled: number;
  readonly status: string;
}

interface OrderRow {
  client_order_id: string;
  grid_id: string;
  symbol: string;
  side: 'buy' | 'sell';
  type: 'limit' | 'market';
  level: number;
  price: string | null;
  amount: string;
  filled: string;
  status: string;
}

interface FillRow {
  symbol: string;
  trade_id: string;
  client_order_id: string;
  exchange_order_id: string;
  side: 'buy' | 'sell';
  price: string;
  amount: string;
  fee: string;
  taker_or_maker: 'taker' | 'maker';
  executed_at: string;
}

function fillOf(row: FillRow): Fill {
  return {
    tradeId: row.trade_id,
    orderId: row.exchange_order_id,
    clientOrderId: row.client_order_id,
    symbol: row.symbol,
    side: row.side,
    price: Number(row.price),
    amount: Number(row.amount),
    fee: Number(row.fee),
    takerOrMaker: row.taker_or_maker,
    timestamp: Number(row.executed_at),
  };
}

interface JournalRow {
  type: string;
  payload: Record<string, unknown>;
  run: string | null;
  seq: number | null;
}

function journalEntryOf(row: JournalRow): JournalEntry {
  return { type: row.type, payload: row.payload, ...(row.run === null || row.seq === null ? {} : { position: { run: row.run, seq: row.seq } }) };
}

/** A number as NUMERIC input: exact decimal text (JavaScript's shortest round-trip form). */
const numeric = (value: number): string => String(value);

export class PostgresStore implements StorePort, PaperAccountStore {
  constructor(private readonly sql: Sql) {}

  /** Creates or updates the grid's row (its config may have changed between runs). */
  async registerGrid(config: GridConfig): Promise<void> {
    await this.sql`
      INSERT INTO grids (id, symbol, config) VALUES (${config.id}, ${config.symbol}, ${this.sql.json(JSON.parse(JSON.stringify(config)))})
      ON CONFLICT (id) DO UPDATE SET symbol = EXCLUDED.symbol, config = EXCLUDED.config, updated_at = now()`;
  }

  async recordIntent(gridId: string, intent: OrderIntent): Promise<boolean> {
    const inserted = await this.sql`
      INSERT INTO orders (client_order_id, grid_id, symbol, side, type, level, price, amount)
      VALUES (${intent.clientOrderId}, ${gridId}, ${intent.symbol}, ${intent.side}, ${intent.type}, ${intent.level},
              ${intent.price === undefined ? null : numeric(intent.price)}, ${numeric(intent.amount)})
      ON CONFLICT (client_order_id) DO NOTHING
      RETURNING client_order_id`;
    return inserted.length === 1;
  }

  /**
   * Stores the fill and adds it to its order's filled amount, atomically; false if seen before.
   * One statement (a data-modifying CTE): a fill is on the path to its counter-order, and one round
   * trip instead of a transaction's four is most of that path's time on the embedded database.
   */
  async recordFill(fill: Fill): Promise<boolean> {
    const [row] = await this.sql<{ inserted: number }[]>`
      WITH inserted AS (
        INSERT INTO fills (symbol, trade_id, client_order_id, exchange_order_id, side, price, amount, fee, taker_or_maker, executed_at)
        VALUES (${fill.symbol}, ${fill.tradeId}, ${fill.clientOrderId}, ${fill.orderId}, ${fill.side}, ${numeric(fill.price)},
                ${numeric(fill.amount)}, ${numeric(fill.fee)}, ${fill.takerOrMaker}, ${fill.timestamp})
        ON CONFLICT (symbol, trade_id) DO NOTHING
        RETURNING trade_id
      ), booked AS (
        UPDATE orders SET filled = filled + ${numeric(fill.amount)},
                          status = CASE WHEN filled + ${numeric(fill.amount)} >= amount THEN 'filled' ELSE status END,
                          exchange_order_id = COALESCE(exchange_order_id, ${fill.orderId}),
                          updated_at = now()
        WHERE client_order_id = ${fill.clientOrderId} AND EXISTS (SELECT 1 FROM inserted)
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM inserted)::int AS inserted`;
    return row!.inserted === 1;
  }

  async recordOrderUpdate(clientOrderId: string, update: OrderUpdate): Promise<void> {
    await this.sql`
      UPDATE orders SET status = CASE WHEN status = 'filled' THEN status ELSE ${update.status} END,
                        exchange_order_id = COALESCE(${update.exchangeOrderId ?? null}, exchange_order_id),
                        updated_at = now()
      WHERE client_order_id = ${clientOrderId}`;
  }

  /** The grid's persisted actors (for a fast resume; the exchange and the store's orders and fills stay the truth). */
  async saveGridSnapshot(gridId: string, state: string, snapshot: unknown, machineVersion: number): Promise<void> {
    await this.sql`
      UPDATE grids SET state = ${state}, snapshot = ${this.sql.json(snapshot as Parameters<Sql['json']>[0])}, machine_version = ${machineVersion}, updated_at = now()
      WHERE id = ${gridId}`;
  }

  async gridSnapshot(gridId: string): Promise<SavedGrid | undefined> {
    const [row] = await this.sql<{ state: string; snapshot: unknown; machine_version: number | null }[]>`SELECT state, snapshot, machine_version FROM grids WHERE id = ${gridId}`;
    return row && { state: row.state, snapshot: row.snapshot, machineVersion: row.machine_version };
  }

  async orders(gridId: string): Promise<StoredOrder[]> {
    const rows = await this.sql<OrderRow[]>`SELECT * FROM orders WHERE grid_id = ${gridId} ORDER BY created_at, client_order_id`;
    return rows.map((row) => ({
      clientOrderId: row.client_order_id,
      gridId: row.grid_id,
      symbol: row.symbol,
      side: row.side,
      type: row.type,
      level: row.level,
      price: row.price === null ? undefined : Number(row.price),
      amount: Number(row.amount),
      filled: Number(row.filled),
      status: row.status,
    }));
  }

  async fillsOf(clientOrderIds: readonly string[]): Promise<Fill[]> {
    if (clientOrderIds.length === 0) return [];
    const rows = await this.sql<FillRow[]>`SELECT * FROM fills WHERE client_order_id IN ${this.sql(clientOrderIds as string[])} ORDER BY executed_at, trade_id`;
    return rows.map(fillOf);
  }

  /** Trade ids compare as bytes (COLLATE "C"): the same order on every server, and as the memory store's. */
  async gridFills(gridId: string, { limit, before }: FillPageQuery): Promise<Fill[]> {
    const sql = this.sql;
    const after =
      before === undefined
        ? sql``
        : before.tradeId === undefined
          ? sql`AND f.executed_at < ${before.timestamp}`
          : sql`AND (f.executed_at < ${before.timestamp} OR (f.executed_at = ${before.timestamp} AND f.trade_id COLLATE "C" < ${before.tradeId}))`;
    const rows = await sql<FillRow[]>`
      SELECT f.* FROM fills f JOIN orders o ON o.client_order_id = f.client_order_id
      WHERE o.grid_id = ${gridId} ${after}
      ORDER BY f.executed_at DESC, f.trade_id COLLATE "C" DESC
      LIMIT ${limit}`;
    return rows.map(fillOf);
  }

  async recoverySince(gridId: string): Promise<number | undefined> {
    const [row] = await this.sql<{ since: string | null }[]>`
      SELECT floor(extract(epoch FROM min(created_at)) * 1000) AS since FROM orders
      WHERE grid_id = ${gridId} AND status IN ('intent', 'open')`;
    return row?.since === null || row?.since === undefined ? undefined : Number(row.since);
  }

  async exchangeOrderIds(gridId: string, since: number): Promise<Map<string, string>> {
    const rows = await this.sql<{ exchange_order_id: string; client_order_id: string }[]>`
      SELECT exchange_order_id, client_order_id FROM orders
      WHERE grid_id = ${gridId} AND exchange_order_id IS NOT NULL AND created_at >= to_timestamp(${since} / 1000.0)`;
    return new Map(rows.map((row) => [row.exchange_order_id, row.client_order_id]));
  }

  /** One statement per batch, rows in `seq` order (so their ids are too); a batch retried after a lost answer adds nothing. */
  async appendEvents(gridId: string, entries: readonly JournalAppend[]): Promise<void> {
    if (entries.length === 0) return;
    await this.sql`
      INSERT INTO events (grid_id, run, seq, type, payload)
      SELECT ${gridId}, e.run, e.seq, e.type, e.payload
      FROM jsonb_to_recordset(${this.sql.json(entries as unknown as Parameters<Sql['json']>[0])}) AS e(run text, seq integer, type text, payload jsonb)
      ORDER BY e.seq
      ON CONFLICT (run, seq) DO NOTHING`;
  }

  async journal(gridId: string): Promise<JournalEntry[]> {
    const rows = await this.sql<JournalRow[]>`SELECT type, payload, run, seq FROM events WHERE grid_id = ${gridId} ORDER BY id`;
    return rows.map(journalEntryOf);
  }

  async journalAfter(gridId: string, position: JournalPosition): Promise<JournalEntry[] | undefined> {
    const [at] = await this.sql<{ id: string }[]>`SELECT id FROM events WHERE grid_id = ${gridId} AND run = ${position.run} AND seq = ${position.seq}`;
    if (at === undefined) return undefined;
    const rows = await this.sql<JournalRow[]>`SELECT type, payload, run, seq FROM events WHERE grid_id = ${gridId} AND id > ${at.id} ORDER BY id`;
    return rows.map(journalEntryOf);
  }

  /** The fills of `symbol`, oldest first. */
  async fills(symbol: string): Promise<Fill[]> {
    const rows = await this.sql<FillRow[]>`SELECT * FROM fills WHERE symbol = ${symbol} ORDER BY executed_at, trade_id`;
    return rows.map(fillOf);
  }

  /** The paper account `id` as last saved (undefined: none yet). */
  async paperAccount(id: string): Promise<unknown> {
    const [row] = await this.sql<{ state: unknown }[]>`SELECT state FROM paper_accounts WHERE id = ${id}`;
    return row?.state;
  }

  async savePaperAccount(id: string, state: unknown): Promise<void> {
    await this.sql`INSERT INTO paper_accounts (id, state) VALUES (${id}, ${this.sql.json(state as never)})
      ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()`;
  }
}
