package tasks

import (
	"context"
	"fmt"
	"sync"
)

// SweepSummary says what one sweep did, for logs and tests.
type SweepSummary struct {
	Kind    SweepKind
	VMs     int      // VMs looked at
	Results int      // results stored
	Grouped []string // checks that failed class-wide this sweep
	Cloud   bool     // DigitalOcean could not be reached
}

// sweepPlan is what a sweep decided for the whole class before alert state
// moves: which checks failed class-wide and whether the cloud is down.
type sweepPlan struct {
	checks    []string            // the checks the sweep ran (group states exist per check)
	grouped   map[string][]string // check → failing VMs, for checks failing class-wide
	immediate map[string]bool     // a grouped check whose member failures fire at once
	cloud     *Result             // the GroupCloud result; nil if not asked
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
	list, err := a.vms.ListVMs(ctx)
	if err != nil {
		return sum, fmt.Errorf("sweep %s: %w", kind, err)
	}
	prev, err := a.previousResults(ctx, "")
	if err != nil {
		return sum, fmt.Errorf("sweep %s: %w", kind, err)
	}
	vms := make([]VM, len(list))
	for i, vm := range list {
		vms[i] = *vm
	}
	plan := sweepPlan{checks: checks}
	if kind == SweepUptime && a.droplets != nil {
		r := Result{Check: GroupCloud, Status: CheckOK, Detail: "DigitalOcean answers", At: a.now()}
		if _, err := a.droplets.ListDroplets(ctx, a.tag); err != nil {
			a.log.WarnContext(ctx, "sweep: DigitalOcean unreachable", "err", err)
			r.Status, r.Detail = CheckFail, "DigitalOcean's API does not answer"
			r.Fix = "Check https://status.digitalocean.com; VM alerts wait until it answers."
			sum.Cloud = true
		}
		plan.cloud = &r
	}

	// Each VM's checks run in order in one goroutine (hostkey after ssh);
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
			perVM[i] = a.checkVM(ctx, vm, checks, prev)
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
	plan.grouped, plan.immediate = groupFailures(counted, vms, a.cfg)
	for c := range plan.grouped {
		sum.Grouped = append(sum.Grouped, c)
	}
	if err := a.apply(ctx, vms, counted, plan); err != nil {
		return sum, fmt.Errorf("sweep %s: %w", kind, err)
	}
	return sum, nil
}
