package tasks

import (
	"context"
	"slices"
	"time"
)

// classDroplets returns the class's droplets, listed at most maxAge ago.
// Concurrent callers share one request.
func (x *Runner) classDroplets(ctx context.Context, maxAge time.Duration) ([]Droplet, error) {
	return x.d.Droplets.List(ctx, x.cfg.Tag, maxAge)
}

// dropletsOf returns the class's droplets that belong to name: those named
// after it or carrying its student tag.
func (x *Runner) dropletsOf(ctx context.Context, name string) ([]Droplet, error) {
	all, err := x.classDroplets(ctx, time.Second)
	if err != nil {
		return nil, err
	}
	var out []Droplet
	for _, d := range all {
		if d.Name == x.fqdn(name) || slices.Contains(d.Tags, StudentTag(name)) {
			out = append(out, d)
		}
	}
	return out, nil
}

// droplet finds droplet id in the shared list; nil if it is not (yet) there.
func (x *Runner) droplet(ctx context.Context, id int) (*Droplet, error) {
	list, err := x.classDroplets(ctx, x.cfg.PollInterval)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].ID == id {
			return &list[i], nil
		}
	}
	return nil, nil
}
