-- What DigitalOcean last reported for a tag, written by the reconcile job
-- and read by status, so that status never calls the API and replicas
-- share one view. droplets is a JSON array of tasks.Droplet.
CREATE TABLE cloud_views (
	tag        TEXT PRIMARY KEY NOT NULL,
	droplets   TEXT NOT NULL DEFAULT '[]' CHECK (json_type(droplets) = 'array'),
	listed_at  TEXT,
	checked_at TEXT NOT NULL,
	error      TEXT NOT NULL DEFAULT ''
) STRICT;
