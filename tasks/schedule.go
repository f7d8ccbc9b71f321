package tasks

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Scheduler runs jobs on cron specs in one time zone. Each job never
// overlaps itself (a run due while the last one still goes is skipped, and
// counted), and each run has a deadline. With Leases, replicas sharing a
// database run each job run once between them: before each run the
// scheduler takes the job's lease, and a replica that does not get it
// leaves the run to the one that does. Stop waits for the runs in flight.
type Scheduler struct {
	cron   *cron.Cron
	loc    *time.Location
	log    *slog.Logger
	ctx    context.Context // parent of every run; cancelled when Stop gives up waiting
	cancel context.CancelFunc

	leases Leases // nil: a single replica, which always runs
	holder string

	mu      sync.Mutex
	jobs    map[string]*job
	atStart []string
	stopped bool           // Run refuses after Stop
	extra   sync.WaitGroup // runs at start and Run's, which cron does not wait for
}

// job is one scheduled job and its counters.
type job struct {
	name     string
	timeout  time.Duration
	lease    time.Duration // how long one run holds the job's lease
	fn       func(ctx context.Context) error
	id       cron.EntryID
	stats    JobStats
	inFlight chan struct{} // holds a token while a run goes: no overlap
}

// JobStats counts what a job did since the scheduler was made.
type JobStats struct {
	Started, Finished, Skipped, Failed int
	// Passed counts runs left to the replica holding the job's lease.
	Passed  int
	LastErr error
	Running int // runs in flight: never above 1
}

// NewScheduler returns a scheduler in loc (nil means UTC) logging to
// logger.
func NewScheduler(loc *time.Location, logger *slog.Logger) *Scheduler {
	if loc == nil {
		loc = time.UTC
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Scheduler{
		cron: cron.New(cron.WithLocation(loc), cron.WithParser(cronParser), cron.WithLogger(cronLogger{logger})),
		loc:  loc, log: logger, ctx: ctx, cancel: cancel,
		jobs: map[string]*job{},
	}
}

// ShareLeases makes s run a job only while holder holds the job's lease in
// l: holder names this process (a random ID made at start), and replicas
// with other holders share the runs. Call it before Start.
func (s *Scheduler) ShareLeases(l Leases, holder string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leases, s.holder = l, holder
}

// Location returns the scheduler's time zone.
func (s *Scheduler) Location() *time.Location { return s.loc }

// Add schedules fn as job name on spec; each run gets a context ending
// after timeout. It returns EINVALID naming the job for a bad spec or a
// name already added. Add before Start.
func (s *Scheduler) Add(name, spec string, timeout time.Duration, fn func(ctx context.Context) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.jobs[name]; dup {
		return Errorf(EINVALID, "The job %s is scheduled already.", name)
	}
	sched, err := cronParser.Parse(spec)
	if err != nil {
		return Errorf(EINVALID, "alerts.%s = %q is not a cron spec (%v).", name, spec, err)
	}
	j := &job{name: name, timeout: timeout, lease: leaseTTL(sched, timeout), fn: fn, inFlight: make(chan struct{}, 1)}
	j.id = s.cron.Schedule(sched, cron.FuncJob(func() { s.run(s.ctx, j) }))
	s.jobs[name] = j
	return nil
}

// RunAtStart makes Start also run job name once at once, not only at its
// next scheduled time: after a restart, what changed while the bot was down
// (a resolve) is found without waiting for the schedule. It returns
// EINVALID for a job not added. Call it before Start.
func (s *Scheduler) RunAtStart(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.jobs[name]; !ok {
		return Errorf(EINVALID, "No job %s to run at start.", name)
	}
	s.atStart = append(s.atStart, name)
	return nil
}

// Run runs job name once now and waits for it, as a scheduled run would
// go: not while a run of it is in flight, only under the job's lease, with
// the job's deadline, counted in Stats and logged. ctx or Stop ending
// cancels it. It returns the run's error; nil when the run was skipped,
// left to another replica or asked after Stop; EINVALID for a job not
// added. Main runs the reconcile job so before Start, so that status has
// a view from the first command on.
func (s *Scheduler) Run(ctx context.Context, name string) error {
	s.mu.Lock()
	j, ok := s.jobs[name]
	stopped := s.stopped
	if ok && !stopped {
		s.extra.Add(1) // Stop waits for this run too
	}
	s.mu.Unlock()
	switch {
	case !ok:
		return Errorf(EINVALID, "No job %s to run.", name)
	case stopped:
		return nil
	}
	defer s.extra.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()
	return s.run(ctx, j)
}

// run runs j once under parent, unless a run of j is in flight or another
// replica holds j's lease. It returns the run's error (logged here too).
func (s *Scheduler) run(parent context.Context, j *job) (err error) {
	select {
	case j.inFlight <- struct{}{}:
		defer func() { <-j.inFlight }()
	default:
		s.count(func() { j.stats.Skipped++ })
		s.log.Warn("scheduled job still running; this run is skipped", "job", j.name)
		return nil
	}
	if held, err := s.acquire(parent, j); err != nil || !held {
		return err
	}
	s.count(func() { j.stats.Started++; j.stats.Running++ })
	ctx, cancel := context.WithTimeout(parent, j.timeout)
	defer cancel()
	start := time.Now()
	defer func() {
		s.count(func() {
			j.stats.Running--
			j.stats.Finished++
			j.stats.LastErr = err
			if err != nil {
				j.stats.Failed++
			}
		})
		if err != nil {
			s.log.ErrorContext(ctx, "scheduled job failed", "job", j.name, "err", err, "took", time.Since(start))
			return
		}
		s.log.DebugContext(ctx, "scheduled job done", "job", j.name, "took", time.Since(start))
	}()
	return call(ctx, j)
}

// call runs j.fn, turning a panic into its error: one job's bug must not
// stop the bot.
func call(ctx context.Context, j *job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("job %s panicked: %v", j.name, p)
		}
	}()
	return j.fn(ctx)
}

// acquire takes or renews j's lease, reporting whether this replica runs
// j now; always true without Leases. A store that fails counts as a failed
// run: running without the lease could run the job twice.
func (s *Scheduler) acquire(ctx context.Context, j *job) (bool, error) {
	if s.leases == nil {
		return true, nil
	}
	held, err := s.leases.Acquire(ctx, j.name, s.holder, j.lease)
	switch {
	case err != nil:
		err = fmt.Errorf("take the lease of job %s: %w", j.name, err)
		s.count(func() { j.stats.Failed++; j.stats.LastErr = err })
		s.log.ErrorContext(ctx, "scheduled job not run", "job", j.name, "err", err)
		return false, err
	case !held:
		s.count(func() { j.stats.Passed++ })
		s.log.DebugContext(ctx, "scheduled job left to the replica holding its lease", "job", j.name)
	}
	return held, nil
}

func (s *Scheduler) count(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

// Stats returns a copy of job name's counters; zero for an unknown job.
func (s *Scheduler) Stats(name string) JobStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j, ok := s.jobs[name]; ok {
		return j.stats
	}
	return JobStats{}
}

// Next returns when job name runs next, zero if unknown or not started.
func (s *Scheduler) Next(name string) time.Time {
	s.mu.Lock()
	j, ok := s.jobs[name]
	s.mu.Unlock()
	if !ok {
		return time.Time{}
	}
	return s.cron.Entry(j.id).Next
}

// Start starts running the jobs in the background, and those marked by
// RunAtStart once at once.
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range s.atStart {
		j := s.jobs[name]
		s.extra.Go(func() { s.run(s.ctx, j) })
	}
	s.cron.Start()
}

// Stop stops scheduling and waits for the runs in flight to end. If ctx
// ends first, it cancels their contexts and still waits for them to
// return (each run takes its context, so that is soon). Then it releases
// the leases this replica holds, so that another replica carries on at
// its next tick rather than when they expire. It returns ctx's error if
// ctx ended first, else nil (a lease not released is logged: it expires).
// Stopping a scheduler again, or one never started, is harmless.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	cronDone := s.cron.Stop()
	done := make(chan struct{})
	go func() {
		<-cronDone.Done()
		s.extra.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.cancel()
		<-done
		err = fmt.Errorf("stop scheduler: %w", ctx.Err())
	}
	s.cancel()
	s.release()
	return err
}

// releaseTimeout bounds giving the leases back at Stop.
const releaseTimeout = 5 * time.Second

// release gives up every job lease of this replica.
func (s *Scheduler) release() {
	if s.leases == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range s.jobs {
		if err := s.leases.Release(ctx, name, s.holder); err != nil {
			s.log.WarnContext(ctx, "lease not released; it expires instead", "job", name, "err", err)
		}
	}
}

// cronLogger hands cron's messages to slog; cron's routine Info becomes
// Debug.
type cronLogger struct {
	log *slog.Logger
}

func (l cronLogger) Info(msg string, kv ...any) {
	l.log.Debug("cron: "+msg, kv...)
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}
