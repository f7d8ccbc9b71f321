-- Alerting: the latest check results, the alert state of each (VM, check),
-- mutes, and the outbox of messages the poster owes the channel.
--
-- Like runs, none of these refer to students(name): alert history outlives a
-- removal, and class-wide alerts have vm = ''. The SQL is meant to run on
-- PostgreSQL too: INTEGER PRIMARY KEY would be a BIGINT identity there, TEXT
-- times would be timestamptz, and STRICT and json_type checks would go.

-- The latest result of each (VM, check), so status cards only read.
CREATE TABLE check_results (
	vm         TEXT NOT NULL,
	check_name TEXT NOT NULL,
	status     TEXT NOT NULL CHECK (status IN ('ok', 'fail', 'unknown')),
	detail     TEXT NOT NULL DEFAULT '',
	fix        TEXT NOT NULL DEFAULT '',
	value      REAL NOT NULL DEFAULT 0,
	numbers    TEXT NOT NULL DEFAULT '{}' CHECK (json_type(numbers) = 'object'),
	immediate  INTEGER NOT NULL DEFAULT 0,
	level      INTEGER NOT NULL DEFAULT 0,
	since      TEXT,
	at         TEXT NOT NULL,
	PRIMARY KEY (vm, check_name)
) STRICT;

-- The alert state machine's state (tasks.AlertState). version grows by one
-- on every write; a write names the version it read (conditional update), so
-- of two replicas sweeping at once only one moves a state and queues its
-- events.
CREATE TABLE alert_states (
	vm         TEXT NOT NULL,
	check_name TEXT NOT NULL,
	firing     INTEGER NOT NULL DEFAULT 0,
	flapping   INTEGER NOT NULL DEFAULT 0,
	announced  INTEGER NOT NULL DEFAULT 0,
	fails      INTEGER NOT NULL DEFAULT 0,
	oks        INTEGER NOT NULL DEFAULT 0,
	checks     INTEGER NOT NULL DEFAULT 0,
	level      INTEGER NOT NULL DEFAULT 0,
	detail     TEXT NOT NULL DEFAULT '',
	fix        TEXT NOT NULL DEFAULT '',
	since      TEXT,
	fired_at   TEXT,
	resolved   TEXT,
	reminded   TEXT,
	changes    TEXT NOT NULL DEFAULT '[]' CHECK (json_type(changes) = 'array'),
	incident   INTEGER NOT NULL DEFAULT 0,
	version    INTEGER NOT NULL CHECK (version >= 1),
	updated_at TEXT NOT NULL,
	PRIMARY KEY (vm, check_name)
) STRICT;

-- Mutes: one per VM, or vm = '*' for all.
CREATE TABLE alert_mutes (
	vm         TEXT PRIMARY KEY NOT NULL,
	until_at   TEXT NOT NULL,
	muted_by   TEXT NOT NULL,
	reason     TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL
) STRICT;

-- The outbox: written in the same transaction as the state change that
-- caused each event; sent_at is set once the poster has posted it.
-- once_key makes QueueOnce idempotent across replicas (one digest a day);
-- NULLs are distinct in a UNIQUE index, in PostgreSQL too.
CREATE TABLE alert_events (
	id          INTEGER PRIMARY KEY,
	kind        TEXT NOT NULL,
	vm          TEXT NOT NULL DEFAULT '',
	check_name  TEXT NOT NULL DEFAULT '',
	incident    INTEGER NOT NULL DEFAULT 0,
	detail      TEXT NOT NULL DEFAULT '',
	fix         TEXT NOT NULL DEFAULT '',
	since       TEXT,
	until_at    TEXT,
	duration_ns INTEGER NOT NULL DEFAULT 0,
	checks      INTEGER NOT NULL DEFAULT 0,
	by_user     TEXT NOT NULL DEFAULT '',
	at          TEXT NOT NULL,
	data        TEXT NOT NULL DEFAULT '',
	once_key    TEXT UNIQUE,
	sent_at     TEXT
) STRICT;

CREATE INDEX alert_events_unsent ON alert_events (id) WHERE sent_at IS NULL;
CREATE INDEX alert_events_at ON alert_events (at);
CREATE INDEX alert_events_incident ON alert_events (vm, check_name, incident);

-- The Slack thread of each announced incident: the ts of its first message.
-- The first MarkSent wins (ON CONFLICT DO NOTHING).
CREATE TABLE alert_threads (
	vm         TEXT NOT NULL,
	check_name TEXT NOT NULL,
	incident   INTEGER NOT NULL,
	thread_ts  TEXT NOT NULL,
	PRIMARY KEY (vm, check_name, incident)
) STRICT;
