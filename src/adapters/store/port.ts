// The store port: what the runtime writes ahead of the exchange. The memory store serves
// backtests; the Postgres store (postgres.js, or embedded PGlite) serves the long-running modes.
import type { Fill, OrderIntent } from '../../domain/trading.js';

export interface StorePort {
  /** Stores an order's intent before it is sent. Idempotent on the client order id. */
  recordIntent(gridId: string, intent: OrderIntent): Promise<void>;
  /** Stores a fill before anything reacts to it; false when that trade id was stored already. */
  recordFill(fill: Fill): Promise<boolean>;
}
