package tasks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"
)

// ProgressReporter shows runs to the people who asked for them.
type ProgressReporter interface {
	// Report is called when a run starts, after every step and when it ends,
	// with a copy of the run. It may coalesce updates and must not block long.
	Report(ctx context.Context, r Run)
}

// RunnerConfig holds the class settings runs need.
type RunnerConfig struct {
	Domain, Region, Size, Image, Tag string
	SSHUser                          string        // default "cicf"
	SSHPort                          int           // default 22
	DNSTTL                           int           // seconds, default 60
	BootTimeout                      time.Duration // droplet active with an address; default 10m
	SSHTimeout                       time.Duration // SSH answers and cloud-init done; default 15m
	VerifyTimeout                    time.Duration // HTTPS answers from outside; default 5m
	PollInterval                     time.Duration // between checks while waiting; default 5s
	AllowedPorts                     []int         // default 22, 80, 443
	ScanPorts                        []int         // checked after provisioning; default CommonPorts
}

// RunnerDeps are the services runs use.
type RunnerDeps struct {
	Runs     RunService
	VMs      VMService
	Students StudentService
	Cloud    Cloud
	Records  DNSRecordStore // the DNS records the bot created
	SSH      RemoteDialer
	Prober   Prober
	Progress ProgressReporter
	// Droplets shares the class's droplet list among runs (and with the
	// status commands, when the same cache serves them); nil: a cache of the
	// runner's own in front of Cloud.
	Droplets *DropletCache
	Now      func() time.Time
	Logger   *slog.Logger
}

// Runner executes runs in the background, one goroutine per run, and
// resumes unfinished ones after a restart. Runs on different VMs proceed in
// parallel; the store allows one running run per VM.
type Runner struct {
	cfg RunnerConfig
	d   RunnerDeps

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	active map[int64]bool // runs executing in this process
}

// step is one resumable unit of a run. do must be safe to repeat: after a
// crash the step that was in progress runs again.
type step struct {
	title   string
	timeout time.Duration
	do      func(ctx context.Context, r *Run) error
}

// NewRunner returns a Runner; Close stops it.
func NewRunner(cfg RunnerConfig, d RunnerDeps) *Runner {
	if cfg.SSHUser == "" {
		cfg.SSHUser = "cicf"
	}
	if cfg.SSHPort == 0 {
		cfg.SSHPort = 22
	}
	if cfg.DNSTTL == 0 {
		cfg.DNSTTL = 60
	}
	if cfg.BootTimeout == 0 {
		cfg.BootTimeout = 10 * time.Minute
	}
	if cfg.SSHTimeout == 0 {
		cfg.SSHTimeout = 15 * time.Minute
	}
	if cfg.VerifyTimeout == 0 {
		cfg.VerifyTimeout = 5 * time.Minute
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 5 * time.Second
	}
	if cfg.AllowedPorts == nil {
		cfg.AllowedPorts = []int{22, 80, 443}
	}
	if cfg.ScanPorts == nil {
		cfg.ScanPorts = CommonPorts
	}
	if d.Droplets == nil {
		// Cache ages pace requests to DigitalOcean, which counts real
		// time even when a test stops the runner's clock.
		d.Droplets = NewDropletCache(d.Cloud, time.Now)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{cfg: cfg, d: d, ctx: ctx, cancel: cancel, active: map[int64]bool{}}
}

// Close cancels the runs executing in this process and waits for them. They
// stay "running" in the store and resume at the next start.
func (x *Runner) Close() {
	x.cancel()
	x.wg.Wait()
}

// Wait blocks until no run executes in this process (for tests and the
// console, which waits for its runs before exiting).
func (x *Runner) Wait() { x.wg.Wait() }

// Start checks that kind can run on vm now, records the run and executes it
// in the background. It returns EINVALID, ENOTFOUND or ECONFLICT with a
// message for the person who asked.
func (x *Runner) Start(ctx context.Context, kind RunKind, vm, requestedBy, channel string) (*Run, error) {
	ids, ok := runPlans[kind]
	if !ok {
		return nil, fmt.Errorf("start run: unknown kind %q", kind)
	}
	r := &Run{VM: vm, Kind: kind, RequestedBy: requestedBy, Channel: channel}
	table := x.stepTable()
	for _, id := range ids {
		r.StepIDs = append(r.StepIDs, id)
		r.Steps = append(r.Steps, table[id].title)
	}
	if err := x.prepare(ctx, r); err != nil {
		return nil, err
	}
	if err := x.d.Runs.CreateRun(ctx, r); err != nil {
		return nil, err
	}
	x.launch(r)
	return r, nil
}

// Resume launches every run the store holds as running and this process is
// not executing: those a crash or restart interrupted. It returns how many.
func (x *Runner) Resume(ctx context.Context) (int, error) {
	runs, err := x.d.Runs.ActiveRuns(ctx)
	if err != nil {
		return 0, fmt.Errorf("resume runs: %w", err)
	}
	n := 0
	for _, r := range runs {
		// Read before launch: the run's goroutine then owns r.
		id, kind, vm, step := r.ID, r.Kind, r.VM, r.Step
		if x.launch(r) {
			n++
			x.d.Logger.InfoContext(ctx, "resuming run", "run_id", id, "kind", kind, "vm", vm, "step", step)
		}
	}
	return n, nil
}

func (x *Runner) launch(r *Run) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.active[r.ID] || x.ctx.Err() != nil {
		return false
	}
	x.active[r.ID] = true
	x.wg.Add(1)
	go func() {
		defer x.wg.Done()
		defer func() { x.mu.Lock(); delete(x.active, r.ID); x.mu.Unlock() }()
		x.execute(x.ctx, r)
	}()
	return true
}

func (x *Runner) execute(ctx context.Context, r *Run) {
	log := x.d.Logger.With("run_id", r.ID, "kind", r.Kind, "vm", r.VM)
	steps, err := x.storedSteps(r)
	if err != nil {
		x.fail(r, step{title: "Resume"}, err, log)
		return
	}
	x.report(r)
	for r.Step < len(steps) {
		s := steps[r.Step]
		timeout := s.timeout
		if timeout == 0 {
			timeout = 5 * time.Minute
		}
		sctx, cancel := context.WithTimeout(ctx, timeout)
		err := x.attempt(sctx, r, s, log)
		cancel()
		if ctx.Err() != nil {
			log.InfoContext(ctx, "run interrupted; it resumes at the next start", "step", r.Step)
			return
		}
		if err != nil {
			x.fail(r, s, err, log)
			return
		}
		log.InfoContext(ctx, "step done", "step", r.Step, "title", s.title)
		r.Step++
		if r.Step == len(steps) {
			r.State, r.FinishedAt = RunDone, x.d.Now()
		}
		if err := x.save(r); err != nil {
			log.ErrorContext(ctx, "save run; it resumes at the next start", "err", err)
			return
		}
		x.report(r)
	}
}

// attempt runs a step, and runs it again while it fails only because
// something did not answer (DigitalOcean, the VM), until the step's deadline:
// steps are safe to repeat, and a class provisioned the night before a lab
// should not fail on one dropped request.
func (x *Runner) attempt(ctx context.Context, r *Run, s step, log *slog.Logger) error {
	for {
		err := s.do(ctx, r)
		if err == nil || ErrorCode(err) != EUNAVAILABLE || ctx.Err() != nil {
			return err
		}
		log.WarnContext(ctx, "step will be retried", "step", r.Step, "title", s.title, "err", err)
		if x.pause(ctx) != nil {
			return err
		}
	}
}

// fail ends the run and keeps a message for people; details go to the log.
func (x *Runner) fail(r *Run, s step, err error, log *slog.Logger) {
	msg := ErrorMessage(err)
	if ErrorCode(err) == EINTERNAL {
		var b [4]byte
		_, _ = rand.Read(b[:])
		ref := hex.EncodeToString(b[:])
		log.Error("run step failed", "ref", ref, "step", r.Step, "title", s.title, "err", err)
		msg = fmt.Sprintf("Internal error (ref %s).", ref)
	} else {
		log.Warn("run step failed", "step", r.Step, "title", s.title, "err", err)
	}
	if errors.Is(err, ErrHostKeyMismatch) {
		// Kept for the alerting job: a changed host key is an incident.
		r.Data.Alert = AlertHostKeyMismatch
	}
	r.State, r.Error, r.FinishedAt = RunFailed, fmt.Sprintf("%s: %s", s.title, msg), x.d.Now()
	if err := x.save(r); err != nil {
		log.Error("save failed run", "err", err)
	}
	x.report(r)
}

// save persists r with a context of its own: a step's deadline or the
// runner's shutdown must not lose what the step learned.
func (x *Runner) save(r *Run) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return x.d.Runs.UpdateRun(ctx, r)
}

func (x *Runner) report(r *Run) {
	if x.d.Progress == nil {
		return
	}
	c := *r // Data is a value: the reporter's copy does not change under it
	c.Steps, c.StepIDs = slices.Clone(r.Steps), slices.Clone(r.StepIDs)
	x.d.Progress.Report(x.ctx, c)
}

// poll calls check every PollInterval until it reports done, returns an
// error, or ctx ends (then it returns what describes the wait).
func (x *Runner) poll(ctx context.Context, what string, check func() (bool, error)) error {
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		if x.pause(ctx) != nil {
			return Errorf(EUNAVAILABLE, "Gave up waiting: %s.", what)
		}
	}
}

// pause waits one PollInterval, or less if ctx ends (then it returns
// EUNAVAILABLE).
func (x *Runner) pause(ctx context.Context) error {
	t := time.NewTimer(x.cfg.PollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return Errorf(EUNAVAILABLE, "Timed out.")
	case <-t.C:
		return nil
	}
}

func (x *Runner) fqdn(name string) string { return name + "." + x.cfg.Domain }

// StudentTag and RunTag are the DigitalOcean tags that find a student's
// droplets and the droplet a run created, even when a crash lost its ID.
func StudentTag(name string) string { return "cicf-student:" + name }

// RunTag returns the tag of the droplet created by run id.
func RunTag(id int64) string { return "cicf-run:" + strconv.FormatInt(id, 10) }
