package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
)

// result is what one scenario measured, in real (compressed) time.
type result struct {
	name       string
	vms        int           // provisioned
	wall       time.Duration // first Start to the end of the last run
	starts     time.Duration // the loop of Start calls (parallel: all of them before any Wait)
	requests   int           // DO requests received, rejected ones included
	kinds      map[string]int
	status429  int
	otherFail  int // answers neither 2xx nor 429, and dropped connections
	peakWindow int // most requests arriving within one modelled minute
	done       int
	failed     []string // "name: error" of each failed run
	runTimes   []time.Duration
	steps      map[int][]time.Duration
	stepTitles []string
	problems   []string // what the final state gets wrong; empty if right
}

// scenario provisions vms students of a fresh class; sequential waits for
// each run before starting the next.
func scenario(ctx context.Context, cfg config, name string, vms int, sequential bool, seed uint64, logger *slog.Logger) (*result, error) {
	e, err := newEnv(ctx, cfg, vms, seed, logger)
	if err != nil {
		return nil, err
	}
	defer e.close()
	students, err := e.students.ListStudents(ctx)
	if err != nil {
		return nil, err
	}

	begin := time.Now()
	// Like `/cicf provision all` (handlers.provisionAll): Start each in turn.
	for _, s := range students {
		if _, err := e.runner.Start(ctx, tasks.RunProvision, s.Name, "U0BENCH", "C0BENCH"); err != nil {
			return nil, fmt.Errorf("start provision of %s: %w", s.Name, err)
		}
		if sequential {
			e.runner.Wait()
		}
	}
	starts := time.Since(begin)
	e.runner.Wait()
	res := &result{name: name, vms: vms, wall: time.Since(begin), starts: starts, steps: e.steps.durations()}

	log := e.sim.RequestLog()
	res.requests = len(log)
	res.kinds = map[string]int{}
	for _, r := range log {
		res.kinds[requestKind(r)]++
		switch {
		case r.Status == http.StatusTooManyRequests:
			res.status429++
		case r.Status < 200 || r.Status > 299:
			res.otherFail++
		}
	}
	res.peakWindow = peakInWindow(log, cfg.scaled(time.Minute))

	runs, err := e.runs.ListRuns(ctx, "", 10*vms+10)
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		res.stepTitles = r.Steps
		switch r.State {
		case tasks.RunDone:
			res.done++
			res.runTimes = append(res.runTimes, r.FinishedAt.Sub(r.CreatedAt))
		case tasks.RunFailed:
			res.failed = append(res.failed, r.VM+": "+r.Error)
		}
	}
	res.problems = e.verify(ctx, students, runs)
	return res, nil
}

// requestKind names what a request was for; droplet lists are told apart by
// tag, since the class-tag list is shared by all waiting runs.
func requestKind(r dosim.Request) string {
	if r.Pattern == "GET /v2/droplets" {
		if r.Query.Get("tag_name") == tag {
			return "GET /v2/droplets?tag_name=" + tag + " (shared)"
		}
		return "GET /v2/droplets?tag_name=cicf-student:NAME"
	}
	return r.Pattern
}

// peakInWindow returns the most requests that arrived within any window.
func peakInWindow(log []dosim.Request, window time.Duration) int {
	at := make([]time.Time, len(log))
	for i, r := range log {
		at[i] = r.At
	}
	slices.SortFunc(at, time.Time.Compare)
	peak, lo := 0, 0
	for hi := range at {
		for at[hi].Sub(at[lo]) >= window {
			lo++
		}
		peak = max(peak, hi-lo+1)
	}
	return peak
}

// verify checks the end state: one active droplet per student with the
// class tag, one A and one AAAA record per student pointing at it, the VM
// stored with its address and a pinned host key, and every run done.
func (e *env) verify(ctx context.Context, students []*tasks.Student, runs []*tasks.Run) []string {
	var bad []string
	problem := func(format string, a ...any) { bad = append(bad, fmt.Sprintf(format, a...)) }

	droplets := e.sim.Droplets()
	if len(droplets) != len(students) {
		problem("%d droplets, want %d", len(droplets), len(students))
	}
	byName := map[string]dosim.DropletInfo{}
	for _, d := range droplets {
		if _, dup := byName[d.Name]; dup {
			problem("two droplets named %s", d.Name)
		}
		byName[d.Name] = d
		if d.Status != "active" || !slices.Contains(d.Tags, tag) {
			problem("droplet %s: status %s, tags %v", d.Name, d.Status, d.Tags)
		}
	}
	records := map[string][]dosim.RecordInfo{}
	for _, r := range e.sim.Records(domain) {
		if r.Type == "A" || r.Type == "AAAA" {
			records[r.Type+" "+r.Name] = append(records[r.Type+" "+r.Name], r)
		}
	}
	if len(records) != 2*len(students) {
		problem("%d distinct A/AAAA names, want %d", len(records), 2*len(students))
	}
	for _, s := range students {
		d, ok := byName[s.Name+"."+domain]
		if !ok {
			problem("%s has no droplet", s.Name)
			continue
		}
		for typ, ip := range map[string]string{"A": d.IPv4, "AAAA": d.IPv6} {
			if rs := records[typ+" "+s.Name]; len(rs) != 1 || rs[0].Data != ip {
				problem("%s: %s records %v, want one with %s", s.Name, typ, rs, ip)
			}
		}
		vm, err := e.vms.FindVM(ctx, s.Name)
		switch {
		case err != nil:
			problem("%s: stored VM: %v", s.Name, err)
		case vm.DropletID != d.ID || vm.IPv4 != d.IPv4 || vm.HostKey == "":
			problem("%s: stored VM droplet %d ip %s host key set %t, want droplet %d ip %s with a host key",
				s.Name, vm.DropletID, vm.IPv4, vm.HostKey != "", d.ID, d.IPv4)
		}
	}
	if len(runs) != len(students) {
		problem("%d runs, want %d", len(runs), len(students))
	}
	for _, r := range runs {
		if r.State != tasks.RunDone {
			problem("run %d (%s) is %s: %s", r.ID, r.VM, r.State, r.Error)
		}
	}
	return bad
}
