package tasks

import (
	"context"
	"time"
)

// CloudView is what DigitalOcean last reported for the class's tag. The
// reconcile job writes it; status, power all and destroy all read it, so
// a class typing `/cicf status` at once costs no API call, and a second
// replica sees the same view.
type CloudView struct {
	Tag      string
	Droplets []Droplet
	// ListedAt is when Droplets were listed: the last success.
	ListedAt time.Time
	// CheckedAt is the last attempt, successful or not.
	CheckedAt time.Time
	// Err says why the last attempt failed; "" when it succeeded.
	Err string
}

// CloudViewStore keeps the CloudView of each tag.
type CloudViewStore interface {
	// CloudView returns the stored view of tag; ENOTFOUND before the first
	// reconcile.
	CloudView(ctx context.Context, tag string) (*CloudView, error)
	// SaveCloudView stores v as the view of v.Tag unless the stored one was
	// checked later (a slower replica's older answer loses); it reports
	// whether v was stored.
	SaveCloudView(ctx context.Context, v *CloudView) (bool, error)
}

// DefaultMaxViewAge is how old a CloudView may get before status calls it
// stale: a few missed reconciles.
const DefaultMaxViewAge = 5 * time.Minute
