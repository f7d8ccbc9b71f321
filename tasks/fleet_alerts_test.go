package tasks_test

import (
	"context"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/digitalocean"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// reconcileFails runs the reconcile job's Reconcile over e's database and
// the DigitalOcean stand-in, which must be failing: the stored view then
// says so, as the sweeps read it. (A reconcile that succeeds would record
// e's VMs as gone: the stand-in holds none of their droplets.)
func (e *alertEnv) reconcileFails(t *testing.T) {
	t.Helper()
	fleet := &tasks.Fleet{
		Students: store.NewStudentService(e.db), VMs: e.vms, Views: store.NewCloudViewStore(e.db),
		Droplets: digitalocean.New(digitalocean.Config{
			Token: "t", BaseURL: e.do.URL(), Timeout: 5 * time.Second, MaxRetries: 1,
			Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		}),
		Tag: "cicf", Domain: "cicf.cloud", Now: e.clock,
	}
	if err := fleet.Reconcile(t.Context()); tasks.ErrorCode(err) != tasks.EUNAVAILABLE {
		t.Fatalf("Reconcile with DigitalOcean failing = %v, want EUNAVAILABLE", err)
	}
}
