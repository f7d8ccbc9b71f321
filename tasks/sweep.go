package tasks

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// SweepSummary says what one sweep did, for logs and tests.
type SweepSummary struct {
	Kind    SweepKind
	VMs     int      // VMs looked at
	Results int      // results stored
	Grouped []string // checks that failed class-wide this sweep, sorted
	Cloud   bool     // DigitalOcean could not be reached
}

// sweepPlan is what a sweep decided for the whole class before alert state
// moves: which checks failed class-wide and whether the cloud is down.
type sweepPlan struct {
	checks    []string            // the checks the sweep ran (group states exist per check)
	grouped   map[string][]string // check → failing VMs, for checks failing class-wide
	immediate map[string]bool     // a grouped check whose member failures fire at once
	cloud     *Result             // the GroupCloud result; nil if not asked
	busy      map[string]string   // VMs a run is changing → the run's kind
	undecided map[string]bool     // checks grouped but for VMs whose result is unknown
}

// Sweep runs the checks of kind over every VM concurrently, at most
// Parallel VMs at once, each check under its own deadline, then stores the
// results and moves alert state (see apply). It returns EINVALID for an
// unknown kind and an internal error if the store fails; a VM that does
// not answer is a result, not an error.
func (a *Alerts) Sweep(ctx context.Context, kind SweepKind) (SweepSummary, error) {
	sum := SweepSummary{Kind: kind}
	checks := SweepChecks(kind)
	if checks == nil {
		return sum, Errorf(EINVALID, "No sweep %q. Try uptime, firewall or resources.", kind)
	}
	vms, err := a.listVMs(ctx)
	if err != nil {
		return sum, fmt.Errorf("sweep %s: %w", kind, err)
	}
	prev, err := a.previousResults(ctx, "")
	if err != nil {
		return sum, fmt.Errorf("sweep %s: %w", kind, err)
	}
	busy, err := a.busyVMs(ctx)
	if err != nil {
		return sum, fmt.Errorf("sweep %s: %w", kind, err)
	}
	plan := sweepPlan{checks: checks, busy: busy}
	if kind == SweepUptime {
		if plan.cloud, err = a.cloudResult(ctx); err != nil {
			return sum, fmt.Errorf("sweep %s: %w", kind, err)
		}
		sum.Cloud = plan.cloud != nil && plan.cloud.Status == CheckFail
	}

	// Each VM holds one slot while its checks run (hostkey after ssh);
	// the semaphore bounds the VMs in flight, and every check has its own
	// deadline, so one slow VM holds one slot for a bounded time.
	perVM := make([][]Result, len(vms))
	sem := make(chan struct{}, a.parallel)
	var wg sync.WaitGroup
	for i, vm := range vms {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			perVM[i] = a.checkVM(ctx, vm, checks, prev, busy)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return sum, fmt.Errorf("sweep %s: %w", kind, err)
	}
	var rs []Result
	for _, r := range perVM {
		rs = append(rs, r...)
	}
	if err := a.store.SaveResults(ctx, rs); err != nil {
		return sum, fmt.Errorf("sweep %s: %w", kind, err)
	}
	sum.VMs, sum.Results = len(vms), len(rs)

	counted := inhibit(rs, prev)
	plan.grouped, plan.immediate = groupFailures(counted, vms, busy)
	plan.undecided = undecidedGroups(counted, vms, busy, plan.grouped)
	for c := range plan.grouped {
		sum.Grouped = append(sum.Grouped, c)
	}
	sort.Strings(sum.Grouped)
	if err := a.apply(ctx, vms, counted, plan); err != nil {
		return sum, fmt.Errorf("sweep %s: %w", kind, err)
	}
	if kind == SweepUptime {
		if err := a.forgetGone(ctx, vms, a.now()); err != nil {
			return sum, fmt.Errorf("sweep %s: %w", kind, err)
		}
	}
	return sum, nil
}

// cloudResult says whether DigitalOcean answers, from the reconcile job's
// stored view. It returns nil without Views or before the first
// reconcile, and an error only when the store fails.
func (a *Alerts) cloudResult(ctx context.Context) (*Result, error) {
	r := Result{Check: GroupCloud, Status: CheckOK, Detail: "DigitalOcean answers", At: a.now()}
	if a.views == nil {
		return nil, nil
	}
	v, err := a.views.CloudView(ctx, a.tag)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if v.Err != "" {
		a.log.WarnContext(ctx, "sweep: DigitalOcean unreachable", "err", v.Err)
		r.Status, r.Detail = CheckFail, "DigitalOcean's API does not answer: "+v.Err
		r.Fix = "Check https://status.digitalocean.com; VM alerts wait until it answers."
	}
	return &r, nil
}
