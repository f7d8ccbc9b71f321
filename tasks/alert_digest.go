package tasks

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// DigestCertDays is the days left under which the digest lists a
// certificate.
const DigestCertDays = 21

// Digest is the daily digest's data, a value for someone else to render.
type Digest struct {
	At        time.Time
	Failing   []AlertState     // states that still fire or flap
	Incidents []DigestIncident // incidents open at some point in the last 24 h
	Certs     []Result         // certificates with under DigestCertDays days left, fewest first
	Mutes     []Mute           // mutes ending before the next midnight of At's zone
}

// DigestIncident is one incident of the last 24 hours.
type DigestIncident struct {
	VM, Check string
	Incident  int64
	Detail    string
	Since     time.Time
	// Duration is how long it lasted; for one still open, until At.
	Duration time.Duration
	Open     bool
}

// Digest gathers the digest at now; "today" is now's calendar day in now's
// location (the scheduler passes its time zone). It returns an internal
// error if the store fails.
func (a *Alerts) Digest(ctx context.Context, now time.Time) (Digest, error) {
	d := Digest{At: now}
	states, err := a.store.AlertStates(ctx)
	if err != nil {
		return d, fmt.Errorf("digest: %w", err)
	}
	for _, st := range states {
		if st.Firing || st.Flapping {
			d.Failing = append(d.Failing, st)
		}
	}
	evs, err := a.store.EventsSince(ctx, now.Add(-24*time.Hour), EventFiring, EventFlapping, EventResolved)
	if err != nil {
		return d, fmt.Errorf("digest: %w", err)
	}
	type key struct {
		vm, check string
		n         int64
	}
	byKey := map[key]*DigestIncident{}
	var order []key
	for _, ev := range evs {
		k := key{ev.VM, ev.Check, ev.Incident}
		in, ok := byKey[k]
		if !ok {
			in = &DigestIncident{VM: ev.VM, Check: ev.Check, Incident: ev.Incident, Detail: ev.Detail, Since: ev.Since, Open: true}
			byKey[k] = in
			order = append(order, k)
		}
		if ev.Kind == EventResolved {
			in.Open, in.Duration = false, ev.Duration
			if in.Duration == 0 && !in.Since.IsZero() {
				in.Duration = ev.At.Sub(in.Since)
			}
		}
	}
	for _, k := range order {
		in := byKey[k]
		if in.Open {
			in.Duration = now.Sub(in.Since)
		}
		d.Incidents = append(d.Incidents, *in)
	}
	rs, err := a.store.LatestResults(ctx, "")
	if err != nil {
		return d, fmt.Errorf("digest: %w", err)
	}
	for _, r := range rs {
		if r.Check == CheckCert && r.Status != CheckUnknown && r.Value < DigestCertDays {
			d.Certs = append(d.Certs, r)
		}
	}
	sort.SliceStable(d.Certs, func(i, j int) bool { return d.Certs[i].Value < d.Certs[j].Value })
	mutes, err := a.store.ActiveMutes(ctx, now)
	if err != nil {
		return d, fmt.Errorf("digest: %w", err)
	}
	y, m, day := now.Date()
	midnight := time.Date(y, m, day+1, 0, 0, 0, 0, now.Location())
	for _, mu := range mutes {
		if mu.Until.Before(midnight) {
			d.Mutes = append(d.Mutes, mu)
		}
	}
	return d, nil
}

// QueueDigest gathers the digest at now and queues it as one EventDigest
// per calendar day of now's location, across restarts and replicas. It
// reports whether it queued, or returns an internal error.
func (a *Alerts) QueueDigest(ctx context.Context, now time.Time) (bool, error) {
	d, err := a.Digest(ctx, now)
	if err != nil {
		return false, err
	}
	data, err := json.Marshal(d)
	if err != nil {
		return false, fmt.Errorf("digest: %w", err)
	}
	return a.store.QueueOnce(ctx, "digest:"+now.Format("2006-01-02"), AlertEvent{Kind: EventDigest, Data: string(data), At: now})
}
