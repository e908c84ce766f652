-- The paper exchange's accounts (paper and demo mode): balances, orders, recent fills and the
-- replay's position, one row per symbol, written before the paper exchange answers a request or
-- tells of a fill. The paper exchange is these modes' exchange: its state outlives the process,
-- so a restart continues the same account and the same grid, as with a real exchange.
CREATE TABLE paper_accounts (
  id TEXT PRIMARY KEY,
  state JSONB NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
