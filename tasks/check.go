package tasks

import (
	"context"
	"log/slog"
	"time"
)

// CheckStatus is the outcome of one check of one VM.
type CheckStatus string

// Check outcomes. Unknown is not down: a check that could not look (its VM's
// SSH was down, its deadline passed before an answer) says nothing about the
// thing it checks, and alert state does not count it.
const (
	CheckOK      CheckStatus = "ok"
	CheckFail    CheckStatus = "fail"
	CheckUnknown CheckStatus = "unknown"
)

// Check names: the keys of the check table and of alert state.
const (
	CheckSSH       = "ssh"       // SSH handshake with the pinned key
	CheckHostKey   = "hostkey"   // the host key equals the pin
	CheckHTTPS     = "https"     // HTTPS status through SNI to the droplet address
	CheckCert      = "cert"      // certificate days left
	CheckFirewall  = "firewall"  // no port open beyond the allowed ones
	CheckResources = "resources" // load, CPU, memory, disk
)

// Result is what one check found on one VM at one time. It is a value: the
// store keeps the latest per (VM, check), so status cards only read.
type Result struct {
	VM     string
	Check  string
	Status CheckStatus
	// Detail is one short line of plain text for people; it may hold text
	// from the VM (process names), so renderers must escape it.
	Detail string
	// Fix, if set, says what to do about a failure, for the student's DM.
	Fix string
	// Value is the check's main number where it has one: HTTPS status, cert
	// days left, CPU percent, open ports beyond the allowed ones.
	Value float64
	// Numbers holds the other readings by name (load1, mem_percent, ...).
	Numbers map[string]float64
	// Immediate makes a failure fire at once rather than after fire_after
	// (a changed host key, an exposed port).
	Immediate bool
	// Level orders failures of one check by severity (cert: 1 at 14 days
	// left, 2 at 7, 3 at 3, 4 at 1); a higher level while firing is told in
	// the incident's thread.
	Level int
	// Since is when the condition behind Value began, kept across sweeps
	// (high CPU since); zero if none.
	Since time.Time
	At    time.Time
}

// CheckFunc runs one check of vm. It never returns an error: what goes wrong
// is a Result (unknown when it could not look).
type CheckFunc func(ctx context.Context, vm VM) Result

// Check is one entry of the check table: a function and its deadline.
type Check struct {
	Timeout time.Duration
	Run     CheckFunc
}

// Checker holds what the checks use. Its zero fields are filled by Checks.
type Checker struct {
	SSH     RemoteDialer
	SSHUser string // default "cicf"
	SSHPort int    // default 22
	Domain  string // the class domain: HTTPS is fetched from NAME.Domain
	Prober  Prober
	Scanner PortScanner
	// ScanPorts are the ports the firewall check scans; nil means the
	// scanner's default (nmap's top 1000).
	ScanPorts []int
	Config    AlertConfig
	// Timeouts, if set, replace the deadlines of the named checks.
	Timeouts map[string]time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
}

// Checks returns the check table, blackbox_exporter style: each name maps to
// a function and its own deadline.
func (c *Checker) Checks() map[string]Check {
	return map[string]Check{
		CheckSSH:       {10 * time.Second, c.checkSSH},
		CheckHostKey:   {10 * time.Second, c.checkHostKey},
		CheckHTTPS:     {10 * time.Second, c.checkHTTPS},
		CheckCert:      {10 * time.Second, c.checkCert},
		CheckFirewall:  {2 * time.Minute, c.checkFirewall},
		CheckResources: {30 * time.Second, c.checkResources},
	}
}

// checkGrace is how long Run waits past a check's deadline for its result:
// a check whose dial timed out still says what that means (HTTPS that does
// not answer within the deadline is down, not unknown).
const checkGrace = 2 * time.Second

// Run runs the check named name on vm under its deadline. An unknown name,
// a check still running checkGrace after its deadline, or ctx ending first
// yields an unknown result.
func (c *Checker) Run(ctx context.Context, name string, vm VM) Result {
	ch, ok := c.Checks()[name]
	if !ok {
		return c.result(vm, name, CheckUnknown, "no such check")
	}
	if d, ok := c.Timeouts[name]; ok && d > 0 {
		ch.Timeout = d
	}
	if why := c.missing(name); why != "" {
		return c.result(vm, name, CheckUnknown, why)
	}
	cctx, cancel := context.WithTimeout(ctx, ch.Timeout)
	defer cancel()
	done := make(chan Result, 1)
	go func() { done <- ch.Run(cctx, vm) }()
	grace := time.NewTimer(ch.Timeout + checkGrace)
	defer grace.Stop()
	select {
	case r := <-done:
		if ctx.Err() != nil {
			// The sweep ended, not the check: what it saw says nothing.
			return c.result(vm, name, CheckUnknown, "the sweep ended before an answer")
		}
		return r
	case <-grace.C:
		// The check's own calls take cctx and end soon; its result is dropped.
		return c.result(vm, name, CheckUnknown, "no answer within "+ch.Timeout.String())
	case <-ctx.Done():
		return c.result(vm, name, CheckUnknown, "the sweep ended before an answer")
	}
}

// missing says which part check name needs is not wired, or "": a bot
// configured without a scanner says so in the result instead of crashing
// the sweep.
func (c *Checker) missing(name string) string {
	switch name {
	case CheckSSH, CheckHostKey, CheckResources:
		if c.SSH == nil {
			return "not checked: no SSH client configured"
		}
	case CheckFirewall: // SSH only names the culprit (see dialVM)
		if c.Scanner == nil {
			return "not checked: no port scanner configured"
		}
	case CheckHTTPS, CheckCert:
		if c.Prober == nil {
			return "not checked: no HTTPS prober configured"
		}
	}
	return ""
}

func (c *Checker) result(vm VM, check string, st CheckStatus, detail string) Result {
	return Result{VM: vm.Name, Check: check, Status: st, Detail: detail, At: c.now()}
}

func (c *Checker) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Checker) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// ResultStore keeps the latest result of each (VM, check), for status cards
// and for checks that compare with the previous sweep.
type ResultStore interface {
	// SaveResults stores each result as the latest of its (VM, check).
	// It returns an internal error if the store fails.
	SaveResults(ctx context.Context, rs []Result) error
	// LatestResults returns the latest result of every check of vm
	// ("" for all VMs), sorted by VM and check; empty if none.
	LatestResults(ctx context.Context, vm string) ([]Result, error)
}
