package tasks

import (
	"context"
	"slices"
	"time"
)

// settlePolls is how many polls a resumed run whose create request went out
// waits for its droplet to be listed.
const settlePolls = 6

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

// runDroplets returns the droplets this run created, from the shared list
// of the class (runs that start together share one request). For a
// provision, a droplet of the student's that the run did not create stops
// it, rather than make a second one. When a create request was sent before
// a crash, it waits a few polls for the droplet to show: DigitalOcean's lists
// can lag a create. It counts polls rather than reading a clock, so a test's
// stopped clock cannot make it wait forever.
func (x *Runner) runDroplets(ctx context.Context, r *Run) ([]Droplet, error) {
	polls := 0
	if r.Data.CreateSent {
		polls = settlePolls
	}
	maxAge := time.Second
	for ; ; polls-- {
		all, err := x.classDroplets(ctx, maxAge)
		if err != nil {
			return nil, err
		}
		var mine []Droplet
		for _, d := range all {
			switch {
			case !slices.Contains(d.Tags, StudentTag(r.VM)):
			case slices.Contains(d.Tags, RunTag(r.ID)):
				mine = append(mine, d)
			case r.Kind == RunProvision:
				// A reset replaces the student's droplets (deleteOld); a
				// provision must not add a second one.
				return nil, Errorf(ECONFLICT, "%s already has another droplet (%d), so this %s stopped rather than make a second one.", r.VM, d.ID, r.Kind)
			}
		}
		if len(mine) > 0 || polls <= 0 {
			return mine, nil
		}
		maxAge = 0
		if err := x.pause(ctx); err != nil {
			return nil, err
		}
	}
}

// deleteExtras deletes droplets carrying this run's tag other than keep: a
// create whose answer was lost, and that DigitalOcean listed only after the
// run had created again. Never two droplets for one student, and no orphan.
func (x *Runner) deleteExtras(ctx context.Context, r *Run, keep int) error {
	list, err := x.classDroplets(ctx, x.cfg.PollInterval)
	if err != nil {
		return err
	}
	for _, d := range list {
		if d.ID != keep && slices.Contains(d.Tags, RunTag(r.ID)) {
			x.d.Logger.WarnContext(ctx, "deleting a duplicate droplet of a lost create", "run_id", r.ID, "droplet_id", d.ID)
			if err := x.d.Cloud.DeleteDroplet(ctx, d.ID, x.cfg.Tag); err != nil {
				return err
			}
		}
	}
	return nil
}
