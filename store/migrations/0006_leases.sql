-- Who runs each scheduled job: replicas of the bot sharing this database
-- take a job's lease before each run, and only the holder runs it. until
-- is when the lease lapses if its holder stops renewing it (a replica that
-- died); holder is a random ID per process.
CREATE TABLE leases (
	name   TEXT PRIMARY KEY NOT NULL,
	holder TEXT NOT NULL CHECK (holder <> ''),
	until  TEXT NOT NULL
) STRICT;
