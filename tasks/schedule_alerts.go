package tasks

import (
	"context"
	"time"
)

// Job names, the keys of the [alerts] block.
const (
	JobUptime    = "uptime"
	JobFirewall  = "firewall"
	JobResources = "resources"
	JobDigest    = "digest"
)

// Deadlines of one run of each job: a sweep that overruns ends, and the
// next one starts afresh.
const (
	UptimeTimeout    = 2 * time.Minute
	FirewallTimeout  = 15 * time.Minute
	ResourcesTimeout = 5 * time.Minute
	DigestTimeout    = time.Minute
)

// ScheduleAlerts adds the uptime, firewall and resources sweeps and the
// daily digest to s on the specs of a's configuration. The digest job
// queues one digest per calendar day in s's time zone (QueueDigest). The
// uptime sweep also runs at Start, so a resolve that happened while the bot
// was down is found at once. It returns EINVALID naming the key of a bad
// spec.
func ScheduleAlerts(s *Scheduler, a *Alerts) error {
	cfg := a.Config()
	sweep := func(kind SweepKind) func(context.Context) error {
		return func(ctx context.Context) error {
			sum, err := a.Sweep(ctx, kind)
			if err == nil {
				a.log.DebugContext(ctx, "sweep done", "kind", kind, "vms", sum.VMs, "grouped", sum.Grouped, "cloud_down", sum.Cloud)
			}
			return err
		}
	}
	for _, j := range []struct {
		name, spec string
		timeout    time.Duration
		fn         func(context.Context) error
	}{
		{JobUptime, cfg.Uptime, UptimeTimeout, sweep(SweepUptime)},
		{JobFirewall, cfg.Firewall, FirewallTimeout, sweep(SweepFirewall)},
		{JobResources, cfg.Resources, ResourcesTimeout, sweep(SweepResources)},
		{JobDigest, cfg.Digest, DigestTimeout, func(ctx context.Context) error {
			_, err := a.QueueDigest(ctx, a.now().In(s.Location()))
			return err
		}},
	} {
		if err := s.Add(j.name, j.spec, j.timeout, j.fn); err != nil {
			return err
		}
	}
	return s.RunAtStart(JobUptime)
}
