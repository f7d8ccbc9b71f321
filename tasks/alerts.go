package tasks

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// SweepKind names a scheduled sweep: which checks it runs over the class.
type SweepKind string

// Sweep kinds, the job names of the [alerts] block.
const (
	SweepUptime    SweepKind = "uptime"    // ssh, hostkey, https, cert (and DigitalOcean, if set)
	SweepFirewall  SweepKind = "firewall"  // firewall
	SweepResources SweepKind = "resources" // resources
)

// SweepChecks returns the checks a sweep of kind runs, in order; nil for an
// unknown kind.
func SweepChecks(kind SweepKind) []string {
	switch kind {
	case SweepUptime:
		return []string{CheckSSH, CheckHostKey, CheckHTTPS, CheckCert}
	case SweepFirewall:
		return []string{CheckFirewall}
	case SweepResources:
		return []string{CheckResources}
	}
	return nil
}

// AlertsDeps is what NewAlerts needs. Views is optional: with it the
// uptime sweep reads whether the reconcile job's last call to DigitalOcean
// failed (no API call of its own), and an unreachable API is one
// class-wide alert (GroupCloud) while no VM's counter moves.
type AlertsDeps struct {
	// Runs, if set, tells which VMs a run (provision, reset, power) is
	// changing: they are not checked meanwhile, so a reset is no outage.
	Runs    ActiveRunLister
	Views   CloudViewStore
	VMs     VMService
	SSH     RemoteDialer
	Prober  Prober
	Scanner PortScanner
	Store   AlertStore
	Config  AlertConfig // zero fields take their defaults
	Tag     string      // the class tag: the key of the view in Views
	Domain  string      // the class domain: HTTPS is fetched from NAME.Domain
	SSHUser string      // default "cicf"
	SSHPort int         // default 22
	// ScanPorts are the ports the firewall check scans; nil means the
	// scanner's default.
	ScanPorts []int
	// Timeouts, if set, replace the deadlines of the named checks.
	Timeouts map[string]time.Duration
	// Parallel bounds how many VMs one sweep checks at once; default 16.
	Parallel int
	Now      func() time.Time
	Logger   *slog.Logger
}

// Alerts runs the checks over the class, keeps alert state in the store and
// gathers the digest. It holds no state of its own between sweeps: a
// restarted bot, or a second replica, carries on from the store.
type Alerts struct {
	vms      VMService
	store    AlertStore
	checker  *Checker
	cfg      AlertConfig
	runs     ActiveRunLister
	views    CloudViewStore
	tag      string
	parallel int
	now      func() time.Time
	log      *slog.Logger
}

// NewAlerts returns the alert engine over deps.
func NewAlerts(d AlertsDeps) *Alerts {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Parallel <= 0 {
		// Checks mostly wait on the network: 16 VMs at once sweep a class
		// of 100 that does not answer at all in about 7 deadlines.
		d.Parallel = 16
	}
	cfg := d.Config.WithDefaults()
	return &Alerts{
		vms: d.VMs, store: d.Store, cfg: cfg, runs: d.Runs, views: d.Views, tag: d.Tag, parallel: d.Parallel, now: d.Now, log: d.Logger,
		checker: &Checker{SSH: d.SSH, SSHUser: d.SSHUser, SSHPort: d.SSHPort, Domain: d.Domain, Prober: d.Prober,
			Scanner: d.Scanner, ScanPorts: d.ScanPorts, Timeouts: d.Timeouts, Config: cfg, Now: d.Now, Logger: d.Logger},
	}
}

// Config returns the configuration in force, defaults filled in.
func (a *Alerts) Config() AlertConfig { return a.cfg }

// allChecks are the checks CheckNow runs, in order.
var allChecks = []string{CheckSSH, CheckHostKey, CheckHTTPS, CheckCert, CheckFirewall, CheckResources}

// CheckNow runs every check on the VM called name at once (the check verb
// and the Check now button), stores the results and moves its alert state
// as a sweep would, without grouping. It returns the results sorted by
// check, ENOTFOUND for an unknown VM, or an internal error if the store
// fails.
func (a *Alerts) CheckNow(ctx context.Context, name string) ([]Result, error) {
	vm, err := a.vms.FindVM(ctx, name)
	if err != nil {
		return nil, err
	}
	prev, err := a.previousResults(ctx, name)
	if err != nil {
		return nil, err
	}
	busy, err := a.busyVMs(ctx)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", name, err)
	}
	rs := a.checkVM(ctx, *vm, allChecks, prev, busy)
	if err := a.store.SaveResults(ctx, rs); err != nil {
		return nil, fmt.Errorf("check %s: %w", name, err)
	}
	// apply looks at the whole class's state (messages owed, VMs off), so
	// it gets the whole class.
	all, err := a.listVMs(ctx)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", name, err)
	}
	if err := a.apply(ctx, all, inhibit(rs, prev), sweepPlan{busy: busy}); err != nil {
		return nil, fmt.Errorf("check %s: %w", name, err)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Check < rs[j].Check })
	return rs, nil
}

// listVMs returns every known VM, as values: a sweep works on a snapshot.
func (a *Alerts) listVMs(ctx context.Context) ([]VM, error) {
	list, err := a.vms.ListVMs(ctx)
	if err != nil {
		return nil, err
	}
	vms := make([]VM, len(list))
	for i, v := range list {
		vms[i] = *v
	}
	return vms, nil
}

// previousResults returns the stored results of vm ("" for all) by key.
func (a *Alerts) previousResults(ctx context.Context, vm string) (map[resultKey]Result, error) {
	rs, err := a.store.LatestResults(ctx, vm)
	if err != nil {
		return nil, fmt.Errorf("read previous results: %w", err)
	}
	m := make(map[resultKey]Result, len(rs))
	for _, r := range rs {
		m[resultKey{r.VM, r.Check}] = r
	}
	return m, nil
}

type resultKey struct{ vm, check string }

// derived are the checks whose result another check's already tells: a
// sweep that runs both dials each VM once and fetches its page once.
var derived = map[string]struct {
	from string
	fn   func(c *Checker, vm VM, r Result) Result
}{
	CheckHostKey: {CheckSSH, (*Checker).hostKeyFromSSH},
	CheckCert:    {CheckHTTPS, (*Checker).certFromHTTPS},
}

// checkVM runs checks on vm, each under its own deadline, and returns their
// results in the order of checks. A VM that is off or not yet provisioned
// is not looked at: all unknown. The checks that log in over SSH
// (firewall, resources) would not count while SSH does not answer
// (inhibit), so they are not run then: not when the VM's stored SSH result
// fails and this run has no SSH check of its own, and they are stopped as
// soon as this run's SSH check fails, instead of each waiting out its own
// deadline against a VM that does not answer.
func (a *Alerts) checkVM(ctx context.Context, vm VM, checks []string, prev map[resultKey]Result, busy map[string]string) []Result {
	rs := make([]Result, len(checks))
	index := make(map[string]int, len(checks))
	done := make([]chan struct{}, len(checks))
	for i, c := range checks {
		index[c], done[i] = i, make(chan struct{})
	}
	_, runsSSH := index[CheckSSH]
	sshDown := !runsSSH && prev[resultKey{vm.Name, CheckSSH}].Status == CheckFail
	// sshCtx ends when this run's SSH check fails.
	sshCtx, sshFailed := context.WithCancel(ctx)
	defer sshFailed()
	var wg sync.WaitGroup
	for i, name := range checks {
		wg.Go(func() {
			defer close(done[i])
			var r Result
			d, isDerived := derived[name]
			j, hasSource := index[d.from]
			switch why := notCheckable(vm, busy); {
			case why != "":
				r = a.checker.result(vm, name, CheckUnknown, why)
			case isDerived && hasSource:
				<-done[j]
				r = d.fn(a.checker, vm, rs[j])
			case logsIn[name] && sshDown:
				r = a.checker.result(vm, name, CheckUnknown, "not checked: SSH did not answer at the last uptime check")
			case logsIn[name]:
				r = a.checker.Run(sshCtx, name, vm)
				if sshCtx.Err() != nil && ctx.Err() == nil {
					r = a.checker.result(vm, name, CheckUnknown, "not checked: SSH does not answer")
				}
			default:
				r = a.checker.Run(ctx, name, vm)
				if name == CheckSSH && r.Status == CheckFail {
					sshFailed()
				}
			}
			if p, ok := prev[resultKey{vm.Name, name}]; ok {
				r = sustainCPU(a.cfg, &p, r)
			} else {
				r = sustainCPU(a.cfg, nil, r)
			}
			r.Detail, r.Fix = clipText(r.Detail, maxDetail), clipText(r.Fix, maxDetail)
			rs[i] = r
		})
	}
	wg.Wait()
	return rs
}

// logsIn are the checks that log in to the VM over SSH.
var logsIn = map[string]bool{CheckFirewall: true, CheckResources: true}

// maxDetail bounds a result's Detail and Fix, in runes: a VM with hundreds
// of open ports must not make a message Slack refuses.
const maxDetail = 600

// clipText returns s cut to n runes, marked with an ellipsis when cut.
func clipText(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "…"
		}
		i++
	}
	return s
}

// notCheckable says why vm cannot be checked now, or "". busy maps the
// VMs a run is changing to the run's kind.
func notCheckable(vm VM, busy map[string]string) string {
	switch {
	case busy[vm.Name] != "":
		return "not checked: a " + busy[vm.Name] + " is under way"
	case vm.Status == "off" || vm.Status == "archive":
		return "not checked: the droplet is " + vm.Status
	case vm.IPv4 == "" || vm.HostKey == "":
		return "not checked: not provisioned yet"
	}
	return ""
}

// ActiveRunLister lists the runs under way; RunService implements it.
type ActiveRunLister interface {
	// ActiveRuns returns every running run, oldest first.
	ActiveRuns(ctx context.Context) ([]*Run, error)
}

// busyVMs maps each VM a run is changing to the run's kind; empty without
// Runs. It returns the store's error.
func (a *Alerts) busyVMs(ctx context.Context) (map[string]string, error) {
	busy := map[string]string{}
	if a.runs == nil {
		return busy, nil
	}
	runs, err := a.runs.ActiveRuns(ctx)
	if err != nil {
		return nil, fmt.Errorf("list active runs: %w", err)
	}
	for _, r := range runs {
		busy[r.VM] = string(r.Kind)
	}
	return busy, nil
}
