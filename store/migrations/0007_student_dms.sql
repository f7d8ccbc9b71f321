-- The DMs the bot owes students at the end of runs (tasks.StudentDM): the
-- welcome when a VM is first ready, the notice with the new host key when
-- someone else reset it. A row is written in the transaction that records
-- its run done, so a restart between the two loses nothing; the sender
-- claims a row (claimed_by, claimed_until) before it posts, so that of two
-- replicas only one posts it, and a claim that lapses (its process died)
-- makes the row due again.
--
-- No text is stored: the sender writes it from the run and the roster when
-- it posts, so nothing here is more than runs.data holds (never a secret).
-- Meant to run on PostgreSQL too (INTEGER PRIMARY KEY a BIGINT identity,
-- TEXT times timestamptz, no STRICT).
CREATE TABLE student_dms (
	id            INTEGER PRIMARY KEY,
	run_id        INTEGER NOT NULL UNIQUE REFERENCES runs (id),
	kind          TEXT NOT NULL CHECK (kind IN ('welcome', 'reset')),
	vm            TEXT NOT NULL,
	to_user       TEXT NOT NULL CHECK (to_user <> ''),
	tries         INTEGER NOT NULL DEFAULT 0 CHECK (tries >= 0),
	not_before    TEXT NOT NULL,
	claimed_by    TEXT NOT NULL DEFAULT '',
	claimed_until TEXT,
	created_at    TEXT NOT NULL,
	done_at       TEXT,
	outcome       TEXT NOT NULL DEFAULT '' CHECK (outcome IN ('', 'sent', 'unreachable', 'gave_up')),
	detail        TEXT NOT NULL DEFAULT ''
) STRICT;

-- What the sender reads every tick: the rows still owed.
CREATE INDEX student_dms_owed ON student_dms (not_before, id) WHERE done_at IS NULL;
