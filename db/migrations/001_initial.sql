-- btcbot's books. Money and quantities are NUMERIC (exact decimals), never floating point.
-- Times are epoch milliseconds (BIGINT), as the exchanges report them, plus a recorded_at.

-- One row per configured grid: its config, lifecycle state and persisted actor snapshots.
CREATE TABLE grids (
  id               TEXT PRIMARY KEY,
  symbol           TEXT NOT NULL,
  config           JSONB NOT NULL,
  state            TEXT NOT NULL DEFAULT 'idle',
  snapshot         JSONB,
  machine_version  INTEGER,
  updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every order the bot meant to place, stored before it is sent (write ahead): the client order id
-- is deterministic, so a retried or recovered order is recognised on the exchange.
CREATE TABLE orders (
  client_order_id    TEXT PRIMARY KEY,
  grid_id            TEXT NOT NULL REFERENCES grids (id),
  exchange_order_id  TEXT,
  symbol             TEXT NOT NULL,
  side               TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
  type               TEXT NOT NULL CHECK (type IN ('limit', 'market')),
  level              INTEGER NOT NULL,
  price              NUMERIC,
  amount             NUMERIC NOT NULL CHECK (amount > 0),
  filled             NUMERIC NOT NULL DEFAULT 0,
  status             TEXT NOT NULL DEFAULT 'intent'
                     CHECK (status IN ('intent', 'open', 'filled', 'canceled', 'rejected', 'expired')),
  created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX orders_grid_status ON orders (grid_id, status);

-- Every fill, once: unique on the exchange's trade id (per symbol), stored before its
-- counter-order is sent.
CREATE TABLE fills (
  symbol            TEXT NOT NULL,
  trade_id          TEXT NOT NULL,
  client_order_id   TEXT NOT NULL,
  exchange_order_id TEXT NOT NULL,
  side              TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
  price             NUMERIC NOT NULL,
  amount            NUMERIC NOT NULL,
  fee               NUMERIC NOT NULL,
  taker_or_maker    TEXT NOT NULL CHECK (taker_or_maker IN ('taker', 'maker')),
  executed_at       BIGINT NOT NULL,
  recorded_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (symbol, trade_id)
);
CREATE INDEX fills_client_order ON fills (client_order_id);
CREATE INDEX fills_executed ON fills (symbol, executed_at);

-- What happened, in order: the journal a snapshot can be rebuilt from.
CREATE TABLE events (
  id          BIGSERIAL PRIMARY KEY,
  grid_id     TEXT REFERENCES grids (id),
  type        TEXT NOT NULL,
  payload     JSONB NOT NULL,
  recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX events_grid ON events (grid_id, id);

-- The account's balances and each grid's results over time (for the dashboard and Grafana).
CREATE TABLE balance_snapshots (
  id          BIGSERIAL PRIMARY KEY,
  asset       TEXT NOT NULL,
  free        NUMERIC NOT NULL,
  used        NUMERIC NOT NULL,
  total       NUMERIC NOT NULL,
  taken_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE pnl_snapshots (
  id           BIGSERIAL PRIMARY KEY,
  grid_id      TEXT NOT NULL REFERENCES grids (id),
  grid_profit  NUMERIC NOT NULL,
  fees         NUMERIC NOT NULL,
  round_trips  INTEGER NOT NULL,
  position     NUMERIC NOT NULL,
  equity       NUMERIC,
  taken_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
