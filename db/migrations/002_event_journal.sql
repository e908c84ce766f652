-- The event journal (events) is written by a queue that retries while the store is unreachable.
-- A retried append whose first answer was lost must not be written twice (a replay would diverge):
-- each entry carries its writer's run id and its number within that run, unique together.
-- Rows written before this column existed have no run (NULLs never conflict).
ALTER TABLE events ADD COLUMN run TEXT, ADD COLUMN seq INTEGER;
CREATE UNIQUE INDEX events_run_seq ON events (run, seq);
