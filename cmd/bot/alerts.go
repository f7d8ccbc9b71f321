package main

import (
	"context"
	"time"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// alertParts is the alert side of the bot: the store's outbox and state,
// the engine that runs the checks, and what the digest says it costs.
type alertParts struct {
	service *store.AlertService
	engine  *tasks.Alerts
	costs   *tasks.Costs
	leases  *store.LeaseService // the poster's, shared with other replicas
}

// buildAlerts wires the alert engine over the store and the adapters.
// Whether DigitalOcean answers comes from the reconcile job's stored view
// (no API call of the sweep's own), and VMs a run is changing are left
// alone (a reset is not an outage).
func (m *Main) buildAlerts(db *store.DB, vms tasks.VMService, runs tasks.ActiveRunLister, views tasks.CloudViewStore, p parts) *alertParts {
	svc := store.NewAlertService(db)
	engine := tasks.NewAlerts(tasks.AlertsDeps{
		VMs: vms, Runs: runs, Views: views, SSH: p.ssh, Prober: p.prober, Scanner: p.scanner, Store: svc, Config: m.Config.Alerts,
		Tag: m.Config.Tag, Domain: m.Config.Domain, Now: m.Now, Logger: m.Logger,
	})
	return &alertParts{service: svc, engine: engine, costs: &tasks.Costs{Droplets: p.cloud, Tag: m.Config.Tag}, leases: store.NewLeaseService(db)}
}

// routerDeps is what the alert verbs need.
func (a *alertParts) routerDeps(loc *time.Location) handlers.AlertDeps {
	return handlers.AlertDeps{Service: a.service, Checker: a.engine, Location: loc}
}

// startAlerts runs the poster, which sends the outbox to channel through
// api, and adds the sweeps and the digest to the bot's scheduler, which
// the caller starts next (startScheduler). Close stops the scheduler
// first, waiting for the sweep in flight, then the poster; the outbox
// keeps what was not yet posted for the next start. With no channel
// the alerts go to the log (and the alerts verb), said once here.
func (m *Main) startAlerts(ctx context.Context, api handlers.SlackMessenger, channel string) error {
	a := m.alerts
	if channel == "" {
		m.Logger.WarnContext(ctx, "CICF_CHANNEL is not set: alerts go to the log and /cicf alerts only")
	}
	poster := handlers.NewAlertPoster(handlers.AlertPosterConfig{
		Channel: channel, Domain: m.Config.Domain, Location: m.Config.Location(), Costs: a.costs,
		Leases: a.leases, Holder: m.holder,
	}, a.service, m.students, api, m.Logger, m.Now)
	m.runUntilClose(ctx, poster.Run)

	if err := tasks.ScheduleAlerts(m.sched, a.engine); err != nil {
		return configErrorf("%s", tasks.ErrorMessage(err))
	}
	m.Logger.InfoContext(ctx, "alerts scheduled", "uptime", m.Config.Alerts.Uptime, "firewall", m.Config.Alerts.Firewall,
		"resources", m.Config.Alerts.Resources, "digest", m.Config.Alerts.Digest, "time_zone", m.Config.TimeZone)
	return nil
}
