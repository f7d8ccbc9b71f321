package tasks

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
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

// AlertsDeps is what NewAlerts needs. Droplets is optional: when set, the
// uptime sweep also asks DigitalOcean, and an unreachable API is one
// class-wide alert (GroupCloud) instead of an alert per VM.
type AlertsDeps struct {
	VMs      VMService
	SSH      RemoteDialer
	Prober   Prober
	Scanner  PortScanner
	Store    AlertStore
	Config   AlertConfig // zero fields take their defaults
	Droplets DropletLister
	Tag      string // the class tag, for Droplets
	Domain   string // the class domain: HTTPS is fetched from NAME.Domain
	SSHUser  string // default "cicf"
	SSHPort  int    // default 22
	// ScanPorts are the ports the firewall check scans; nil means the
	// scanner's default.
	ScanPorts []int
	// Parallel bounds how many VMs one sweep checks at once; default 8.
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
	droplets DropletLister
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
		d.Parallel = 8
	}
	cfg := d.Config.WithDefaults()
	return &Alerts{
		vms: d.VMs, store: d.Store, cfg: cfg, droplets: d.Droplets, tag: d.Tag, parallel: d.Parallel, now: d.Now, log: d.Logger,
		checker: &Checker{SSH: d.SSH, SSHUser: d.SSHUser, SSHPort: d.SSHPort, Domain: d.Domain, Prober: d.Prober,
			Scanner: d.Scanner, ScanPorts: d.ScanPorts, Config: cfg, Now: d.Now, Logger: d.Logger},
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
	rs := a.checkVM(ctx, *vm, allChecks, prev)
	if err := a.store.SaveResults(ctx, rs); err != nil {
		return nil, fmt.Errorf("check %s: %w", name, err)
	}
	if err := a.apply(ctx, []VM{*vm}, inhibit(rs, prev), sweepPlan{}); err != nil {
		return nil, fmt.Errorf("check %s: %w", name, err)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Check < rs[j].Check })
	return rs, nil
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

// checkVM runs checks on vm in order, each under its own deadline. A VM
// that is off or not yet provisioned is not looked at: all unknown.
func (a *Alerts) checkVM(ctx context.Context, vm VM, checks []string, prev map[resultKey]Result) []Result {
	rs := make([]Result, 0, len(checks))
	for _, name := range checks {
		var r Result
		if why := notCheckable(vm); why != "" {
			r = a.checker.result(vm, name, CheckUnknown, why)
		} else {
			r = a.checker.Run(ctx, name, vm)
		}
		if p, ok := prev[resultKey{vm.Name, name}]; ok {
			r = sustainCPU(a.cfg, &p, r)
		} else {
			r = sustainCPU(a.cfg, nil, r)
		}
		rs = append(rs, r)
	}
	return rs
}

// notCheckable says why vm cannot be checked now, or "".
func notCheckable(vm VM) string {
	switch {
	case vm.Status == "off" || vm.Status == "archive":
		return "not checked: the droplet is " + vm.Status
	case vm.IPv4 == "" || vm.HostKey == "":
		return "not checked: not provisioned yet"
	}
	return ""
}
