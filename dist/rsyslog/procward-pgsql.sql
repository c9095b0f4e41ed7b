-- procward-pgsql.sql - the table rsyslog's procward-pgsql.conf inserts into.
CREATE TABLE IF NOT EXISTS procward_events (
	id       bigserial PRIMARY KEY,
	received timestamp NOT NULL,
	host     text NOT NULL,
	msgid    text NOT NULL,
	event    jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS procward_events_type ON procward_events ((event->>'type'));
CREATE INDEX IF NOT EXISTS procward_events_received ON procward_events (received);
