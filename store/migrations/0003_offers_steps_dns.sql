-- Confirmations as stored values, stable step IDs and typed run data, and
-- the DNS records the bot created.

-- A pending confirmation of a destructive command (reset, destroy). It is
-- taken by one conditional DELETE ... RETURNING, so two clicks at once, on one
-- replica or two, run it once. targets is a JSON array of {name, slack_id}:
-- the student's identity captured when offered, so a rename within the
-- offer's life cannot make a confirm act on someone else.
CREATE TABLE offers (
	id         TEXT PRIMARY KEY NOT NULL,
	kind       TEXT NOT NULL,
	targets    TEXT NOT NULL DEFAULT '[]' CHECK (json_type(targets) = 'array'),
	requester  TEXT NOT NULL,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL
) STRICT;

CREATE INDEX offers_expires_at ON offers (expires_at);

-- The DNS records the bot created: it never overwrites or deletes another.
-- Like runs, they do not refer to students: the record outlives a removal.
CREATE TABLE dns_records (
	domain     TEXT NOT NULL,
	name       TEXT NOT NULL,
	record_id  INTEGER NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (domain, record_id)
) STRICT;

CREATE INDEX dns_records_name ON dns_records (domain, name);

-- Each run stores the IDs of its steps next to their titles: a resumed run
-- does what it was created with. Runs stored before get them from their
-- titles; a title no longer known maps to '' and that run fails clearly.
ALTER TABLE runs ADD COLUMN step_ids TEXT NOT NULL DEFAULT '[]' CHECK (json_type(step_ids) = 'array');

UPDATE runs SET step_ids = (
	SELECT json_group_array(CASE s.value
		WHEN 'Create the droplet' THEN 'create-droplet'
		WHEN 'Wait for it to boot' THEN 'wait-active'
		WHEN 'Point DNS at it' THEN 'point-dns'
		WHEN 'Wait for SSH and cloud-init' THEN 'wait-ssh'
		WHEN 'Rotate the SSH host key' THEN 'rotate-host-key'
		WHEN 'Upload JupyterLab and Caddy' THEN 'upload-payload'
		WHEN 'Start JupyterLab' THEN 'start-service'
		WHEN 'Check it from outside' THEN 'verify'
		WHEN 'Delete the old droplet' THEN 'delete-old'
		WHEN 'Delete DNS records' THEN 'delete-dns'
		WHEN 'Delete the droplet' THEN 'delete-droplets'
		WHEN 'Forget the VM' THEN 'forget-vm'
		WHEN 'Power on' THEN 'power-on'
		WHEN 'Power off' THEN 'power-off'
		ELSE '' END)
	FROM (SELECT value FROM json_each(runs.steps) ORDER BY key) AS s);

-- Run data was a map of strings; now the droplet ID is a number and
-- create_sent a boolean (tasks.RunData).
UPDATE runs SET data = json_set(data, '$.droplet_id', CAST(json_extract(data, '$.droplet_id') AS INTEGER))
	WHERE json_type(data, '$.droplet_id') = 'text';
UPDATE runs SET data = json_remove(data, '$.droplet_id')
	WHERE json_extract(data, '$.droplet_id') = 0;
UPDATE runs SET data = json_set(data, '$.create_sent', json('true'))
	WHERE json_type(data, '$.create_sent') = 'text' AND json_extract(data, '$.create_sent') <> '';
UPDATE runs SET data = json_remove(data, '$.create_sent')
	WHERE json_type(data, '$.create_sent') = 'text';
