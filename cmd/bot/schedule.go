package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// buildScheduler makes the bot's one scheduler: the reconcile job now, the
// alert jobs when startAlerts adds them. Replicas on one database share
// its runs through the store's leases, this process holding them under a
// random ID of its own. The first reconcile runs here, before any command
// is read, so that status has a view at once (serve, demo and the
// end-to-end tests read status straight after start); a replica whose
// lease another holds leaves it to that one, whose view is in the store.
func (m *Main) buildScheduler(ctx context.Context, db *store.DB, fleet *tasks.Fleet) error {
	s := tasks.NewScheduler(m.Config.Location(), m.Logger)
	holder := rand.Text()
	s.ShareLeases(store.NewLeaseService(db), holder)
	if err := tasks.ScheduleReconcile(s, fleet); err != nil {
		return fmt.Errorf("schedule reconcile: %w", err)
	}
	m.sched, m.holder = s, holder
	// If the bot fails before startScheduler, this stop still releases the
	// reconcile lease; after it, it finds everything stopped already.
	m.closers = append(m.closers, m.stopScheduler)
	// The scheduler logs a failure; status then says its view is stale.
	_ = s.Run(ctx, tasks.JobReconcile)
	return nil
}

// startScheduler starts the scheduler's jobs. Close stops it first among
// what was started before it (the alert poster, the runs, the store),
// waiting up to schedulerGrace for the runs in flight.
func (m *Main) startScheduler(ctx context.Context) {
	m.sched.Start()
	m.closers = append(m.closers, m.stopScheduler)
	m.Logger.InfoContext(ctx, "scheduler started", "replica", m.holder, "reconcile", tasks.ReconcileSpec)
}

// stopScheduler stops the scheduler, waiting for its runs, and gives up
// its leases. Stopping it twice is harmless.
func (m *Main) stopScheduler() error {
	sctx, cancel := context.WithTimeout(context.Background(), schedulerGrace)
	defer cancel()
	return m.sched.Stop(sctx)
}

// schedulerGrace is how long shutdown waits for a sweep in flight before
// cancelling it.
const schedulerGrace = 30 * time.Second
