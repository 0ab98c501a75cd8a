-- Per-API switch for the developer portal console's policy trace
-- (catalog.API.ConsoleTraceDisabled): 0 = console calls may ask for a
-- trace (the default), 1 = the gateway never records one for this API.
ALTER TABLE apis ADD COLUMN console_trace_disabled INTEGER NOT NULL DEFAULT 0;
