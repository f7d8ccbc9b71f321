-- Runs: the long tasks (provision, reset, destroy, power on/off) the bot
-- carries out step by step, saved after every step so that a restarted bot
-- resumes each run still in state 'running'.
--
-- Unlike vms, runs do not refer to students(name): destroying an orphan
-- droplet, or the VM of a student just removed from the roster, still needs a
-- run, and the history of a VM outlives its student.

CREATE TABLE runs (
	id           INTEGER PRIMARY KEY,
	vm           TEXT NOT NULL,
	kind         TEXT NOT NULL,
	state        TEXT NOT NULL,
	step         INTEGER NOT NULL DEFAULT 0 CHECK (step >= 0),
	steps        TEXT NOT NULL DEFAULT '[]' CHECK (json_type(steps) = 'array'),
	requested_by TEXT NOT NULL DEFAULT '',
	channel      TEXT NOT NULL DEFAULT '',
	message_ts   TEXT NOT NULL DEFAULT '',
	data         TEXT NOT NULL DEFAULT '{}' CHECK (json_type(data) = 'object'),
	error        TEXT NOT NULL DEFAULT '',
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL,
	finished_at  TEXT
) STRICT;

-- At most one running run per VM: two runs on one droplet would undo each
-- other. The store checks first to name the run in the way; this index is the
-- guarantee.
CREATE UNIQUE INDEX runs_running ON runs (vm) WHERE state = 'running';

CREATE INDEX runs_vm ON runs (vm, id DESC);
