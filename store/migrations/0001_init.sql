-- Roster, VMs and the audit log. Times are UTC text in a fixed-width
-- RFC 3339 form with nanoseconds (see timeFormat), so they sort as text and
-- round-trip exactly; NULL means "never". Tables are STRICT so a wrong type is
-- an error, not a silent conversion. Later tables (runs, steps, checks,
-- alerts, mutes) refer to students(name) the same way vms does.

CREATE TABLE students (
	name       TEXT PRIMARY KEY NOT NULL,
	slack_id   TEXT NOT NULL UNIQUE,
	email      TEXT NOT NULL DEFAULT '',
	public_key TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
) STRICT;

-- A VM row belongs to its student: removing the student forgets the VM, and
-- the fleet then reports a still-existing droplet as not on the roster.
CREATE TABLE vms (
	name          TEXT PRIMARY KEY NOT NULL REFERENCES students (name) ON DELETE CASCADE,
	droplet_id    INTEGER NOT NULL DEFAULT 0,
	status        TEXT NOT NULL DEFAULT '',
	ipv4          TEXT NOT NULL DEFAULT '',
	ipv6          TEXT NOT NULL DEFAULT '',
	region        TEXT NOT NULL DEFAULT '',
	size          TEXT NOT NULL DEFAULT '',
	created_at    TEXT,
	last_reset_at TEXT,
	host_key      TEXT NOT NULL DEFAULT '',
	seen_at       TEXT
) STRICT;

-- The audit log never refers to students: it outlives roster changes.
CREATE TABLE audit (
	id          INTEGER PRIMARY KEY,
	at          TEXT NOT NULL,
	user_id     TEXT NOT NULL,
	role        TEXT NOT NULL,
	verb        TEXT NOT NULL,
	args        TEXT NOT NULL DEFAULT '',
	outcome     TEXT NOT NULL,
	duration_ms INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_user_id ON audit (user_id, at);
