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
// overlaps itself (cron.SkipIfStillRunning: a run due while the last one
// still goes is skipped, and counted), and each run has a deadline. Stop
// waits for the runs in flight.
type Scheduler struct {
	cron   *cron.Cron
	loc    *time.Location
	log    *slog.Logger
	ctx    context.Context // parent of every run; cancelled when Stop gives up waiting
	cancel context.CancelFunc

	mu      sync.Mutex
	stats   map[string]*JobStats
	ids     map[string]cron.EntryID
	jobs    map[string]cron.Job // with the chain: a run at start also skips
	atStart []string
	extra   sync.WaitGroup // runs at start, which cron does not wait for
}

// JobStats counts what a job did since Start.
type JobStats struct {
	Started, Finished, Skipped, Failed int
	LastErr                            error
	Running                            int // runs in flight: never above 1
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
		cron: cron.New(cron.WithLocation(loc), cron.WithParser(cronParser), cron.WithLogger(cronLogger{logger, nil})),
		loc:  loc, log: logger, ctx: ctx, cancel: cancel,
		stats: map[string]*JobStats{}, ids: map[string]cron.EntryID{}, jobs: map[string]cron.Job{},
	}
}

// Location returns the scheduler's time zone.
func (s *Scheduler) Location() *time.Location { return s.loc }

// Add schedules fn as job name on spec; each run gets a context ending
// after timeout. It returns EINVALID naming the job for a bad spec or a
// name already added. Add before Start.
func (s *Scheduler) Add(name, spec string, timeout time.Duration, fn func(ctx context.Context) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.stats[name]; dup {
		return Errorf(EINVALID, "The job %s is scheduled already.", name)
	}
	st := &JobStats{}
	run := cron.FuncJob(func() { s.run(name, timeout, fn, st) })
	job := cron.NewChain(cron.Recover(cronLogger{s.log.With("job", name), nil}),
		cron.SkipIfStillRunning(cronLogger{s.log.With("job", name), func() { s.count(func() { st.Skipped++ }) }})).Then(run)
	id, err := s.cron.AddJob(spec, job)
	if err != nil {
		return Errorf(EINVALID, "alerts.%s = %q is not a cron spec (%v).", name, spec, err)
	}
	s.stats[name], s.ids[name], s.jobs[name] = st, id, job
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

func (s *Scheduler) run(name string, timeout time.Duration, fn func(context.Context) error, st *JobStats) {
	s.count(func() { st.Started++; st.Running++ })
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	start := time.Now()
	err := fn(ctx)
	s.count(func() {
		st.Running--
		st.Finished++
		st.LastErr = err
		if err != nil {
			st.Failed++
		}
	})
	if err != nil {
		s.log.ErrorContext(ctx, "scheduled job failed", "job", name, "err", err, "took", time.Since(start))
		return
	}
	s.log.DebugContext(ctx, "scheduled job done", "job", name, "took", time.Since(start))
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
	if st, ok := s.stats[name]; ok {
		return *st
	}
	return JobStats{}
}

// Next returns when job name runs next, zero if unknown or not started.
func (s *Scheduler) Next(name string) time.Time {
	s.mu.Lock()
	id, ok := s.ids[name]
	s.mu.Unlock()
	if !ok {
		return time.Time{}
	}
	return s.cron.Entry(id).Next
}

// Start starts running the jobs in the background, and those marked by
// RunAtStart once at once.
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range s.atStart {
		s.extra.Go(s.jobs[name].Run)
	}
	s.cron.Start()
}

// Stop stops scheduling and waits for the runs in flight to end. If ctx
// ends first, it cancels their contexts and still waits for them to
// return (each run takes its context, so that is soon). It returns ctx's
// error in that case, else nil.
func (s *Scheduler) Stop(ctx context.Context) error {
	cronDone := s.cron.Stop()
	done := make(chan struct{})
	go func() {
		<-cronDone.Done()
		s.extra.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		<-done
		return fmt.Errorf("stop scheduler: %w", ctx.Err())
	}
}

// cronLogger hands cron's messages to slog; cron's routine Info becomes
// Debug. onSkip, if set, counts SkipIfStillRunning's skips.
type cronLogger struct {
	log    *slog.Logger
	onSkip func()
}

func (l cronLogger) Info(msg string, kv ...any) {
	if msg == "skip" && l.onSkip != nil {
		l.onSkip()
		l.log.Warn("scheduled job still running; this run is skipped")
		return
	}
	l.log.Debug("cron: "+msg, kv...)
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}
