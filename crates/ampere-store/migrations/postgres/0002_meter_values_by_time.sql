-- Meter values of a charger are looked up by sample time (retried messages are recognised
-- by it, and listings are newest first by it), not by insertion order.
DROP INDEX meter_values_charger;
CREATE INDEX meter_values_charger_time ON meter_values (charger_id, sampled_at);
