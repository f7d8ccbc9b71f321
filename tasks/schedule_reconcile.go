package tasks

import (
	"context"
	"time"
)

// The reconcile job asks DigitalOcean for the class's droplets and stores
// the view status reads. Its spec is fixed, not configured: the [alerts]
// keys are the instructor's, and how fresh status is a minute is enough.
const (
	JobReconcile     = "reconcile"
	ReconcileSpec    = "@every 1m"
	ReconcileTimeout = time.Minute
)

// ScheduleReconcile adds f's Reconcile to s as the reconcile job. A run
// that fails (DigitalOcean down) leaves the failure in the stored view, so
// status says its view is stale and the uptime sweep groups it. It returns
// EINVALID if s has a reconcile job already.
func ScheduleReconcile(s *Scheduler, f *Fleet) error {
	return s.Add(JobReconcile, ReconcileSpec, ReconcileTimeout, func(ctx context.Context) error {
		return f.Reconcile(ctx)
	})
}
