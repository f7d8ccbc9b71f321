package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/cicf/cicf-bot/digitalocean"
	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/probe"
	"github.com/cicf/cicf-bot/sshclient"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// Options are the command line's choices.
type Options struct {
	Command string // serve, console or demo
	As      string // console/demo: act as this Slack user instead of an instructor
}

func parseFlags(cmd string, args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("cicf-bot "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := Options{Command: cmd}
	if cmd != "serve" {
		fs.StringVar(&opts.As, "as", "", "act as this Slack user ID (e.g. a student's) instead of an instructor")
	}
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cicf-bot %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return opts, errors.New("unexpected argument")
	}
	return opts, nil
}

// Main wires the store, the cloud client and the front ends from one Config.
// End-to-end tests build it the same way the binary does.
type Main struct {
	Config Config
	Opts   Options
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Logger *slog.Logger
	Now    func() time.Time

	closers []func() error // run in reverse order by Close
	// tourPassword is what the demo tour enters in the password form.
	tourPassword string
	// alerts and students are built by build for startAlerts.
	alerts   *alertParts
	students tasks.StudentService
	// dms is built by build for startStudentDMs.
	dms dmParts
	// sched runs the reconcile job and the alert jobs; holder is this
	// process's ID on their leases.
	sched  *tasks.Scheduler
	holder string
}

// NewMain returns a Main whose logger writes to stderr at the configured
// level (warnings only for the terminal front ends, to keep them readable).
func NewMain(cfg Config, opts Options, stdin io.Reader, stdout, stderr io.Writer) *Main {
	level, _ := parseLevel(cfg.LogLevel)
	if opts.Command != "serve" && level < slog.LevelWarn {
		level = slog.LevelWarn
	}
	return &Main{
		Config: cfg, Opts: opts, Stdin: stdin, Stdout: stdout, Stderr: stderr,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		Now:    time.Now,
	}
}

// Run runs the chosen front end until ctx ends or, for the terminal ones,
// until end of input.
func (m *Main) Run(ctx context.Context) error {
	switch m.Opts.Command {
	case "serve":
		return m.serve(ctx)
	case "console":
		return m.console(ctx)
	case "demo":
		return m.demo(ctx)
	}
	return configErrorf("unknown command %q", m.Opts.Command)
}

// Close releases what Run opened. It is safe to call more than once.
func (m *Main) Close() error {
	var errs []error
	for i := len(m.closers) - 1; i >= 0; i-- {
		errs = append(errs, m.closers[i]())
	}
	m.closers = nil
	return errors.Join(errs...)
}

// parts are the outside-facing adapters a front end runs with.
type parts struct {
	cloud  tasks.Cloud
	ssh    tasks.RemoteDialer
	prober tasks.Prober
	// scanner is the firewall check's port scanner.
	scanner tasks.PortScanner
	// progress returns the reporter of runs, given the store's runs (the
	// Slack reporter records its messages there).
	progress func(runs tasks.RunService) tasks.ProgressReporter
	// afterBuild, if set, runs in the console once the store is built (the
	// demo starts its alerts there).
	afterBuild func(ctx context.Context) error
}

// build opens the store and wires the domain services, the runner and the
// Router. extraInstructors are granted the instructor role besides the
// configured ones (the console's own ID). Unfinished runs resume.
func (m *Main) build(ctx context.Context, p parts, extraInstructors ...string) (*handlers.Router, *tasks.Runner, error) {
	db, err := store.Open(ctx, m.Config.DB, m.Now)
	if err != nil {
		return nil, nil, fmt.Errorf("open store %s: %w", m.Config.DB, err)
	}
	m.closers = append(m.closers, db.Close)

	students, vms, runs := store.NewStudentService(db), store.NewVMService(db), store.NewRunService(db)
	instructors := map[string]bool{}
	for _, id := range append(m.Config.Instructors, extraInstructors...) {
		instructors[id] = true
	}
	// One list of the class's droplets, shared by waiting runs and by status
	// commands that arrive together (a status may be two seconds old).
	droplets := tasks.NewDropletCache(p.cloud, m.Now)
	runner := tasks.NewRunner(tasks.RunnerConfig{
		Domain: m.Config.Domain, Region: m.Config.Region, Size: m.Config.Size, Image: m.Config.Image, Tag: m.Config.Tag,
		PollInterval: m.Config.PollInterval.Duration,
	}, tasks.RunnerDeps{
		Runs: runs, VMs: vms, Students: students, Cloud: p.cloud, SSH: p.ssh, Prober: p.prober, Records: store.NewDNSRecordStore(db),
		Progress: p.progress(runs), Droplets: droplets, Now: m.Now, Logger: m.Logger,
	})
	// Runs stop before the store closes (closers run in reverse).
	m.closers = append(m.closers, func() error { runner.Close(); return nil })
	if n, err := runner.Resume(ctx); err != nil {
		return nil, nil, err
	} else if n > 0 {
		m.Logger.InfoContext(ctx, "resumed unfinished runs", "count", n)
	}
	fleet := &tasks.Fleet{
		Students: students, VMs: vms, Droplets: droplets.Lister(2 * time.Second), Views: store.NewCloudViewStore(db),
		Tag: m.Config.Tag, Domain: m.Config.Domain, Now: m.Now, Logger: m.Logger,
	}
	if err := m.buildScheduler(ctx, db, fleet); err != nil {
		return nil, nil, err
	}
	m.alerts, m.students = m.buildAlerts(db, vms, runner, fleet.Views, p), students
	m.dms = dmParts{queue: store.NewStudentDMQueue(db), runs: runs}
	router := handlers.NewRouter(handlers.RouterDeps{
		Directory: &tasks.Directory{Instructors: instructors, Students: students},
		Fleet:     fleet,
		Students:  students, Audit: store.NewAuditLog(db), Runner: runner, Cloud: p.cloud, Offers: store.NewOfferStore(db),
		Logger: m.Logger, Now: m.Now, StudentsMayReset: m.Config.StudentsMayReset,
		Alerts: m.alerts.routerDeps(m.Config.Location()),
	})
	return router, runner, nil
}

// realParts returns the adapters that reach DigitalOcean and the VMs.
func (m *Main) realParts(progress func(tasks.RunService) tasks.ProgressReporter) (parts, error) {
	signer, err := sshclient.LoadOrCreateKey(m.Config.SSHKey)
	if err != nil {
		return parts{}, fmt.Errorf("ssh key: %w", err)
	}
	return parts{
		cloud:    digitalocean.New(digitalocean.Config{Token: m.Config.DOToken, BaseURL: m.Config.DOAPIURL, Logger: m.Logger}),
		ssh:      sshclient.NewDialer(signer, sshclient.DialerConfig{Logger: m.Logger}),
		prober:   &probe.Prober{},
		scanner:  &probe.Scanner{},
		progress: progress,
	}, nil
}

func (m *Main) serve(ctx context.Context) error {
	slackCfg := handlers.SlackConfig{
		AppToken: m.Config.SlackAppToken,
		BotToken: m.Config.SlackBotToken,
		APIURL:   m.Config.SlackAPIURL,
		Logger:   m.Logger,
	}
	// The progress sender is built with the store (build calls this before
	// it makes the runner) and, closers running in reverse, stops after the
	// runs: updates of runs stopping at shutdown still go.
	progress := func(runs tasks.RunService) tasks.ProgressReporter {
		sp := handlers.NewSlackProgress(handlers.NewSlackAPI(slackCfg), m.Config.Domain, runs, m.Now, m.Logger)
		m.runUntilClose(ctx, sp.Run)
		return sp
	}
	p, err := m.realParts(progress)
	if err != nil {
		return err
	}
	router, _, err := m.build(ctx, p)
	if err != nil {
		return err
	}
	m.startStudentDMs(ctx, handlers.NewSlackAPI(slackCfg), router.Welcome)
	if err := m.startAlerts(ctx, handlers.NewSlackAPI(slackCfg), m.Config.Channel); err != nil {
		return err
	}
	m.startScheduler(ctx)
	m.Logger.InfoContext(ctx, "starting", "version", version, "db", m.Config.DB, "instructors", len(m.Config.Instructors))
	err = handlers.NewSlackBot(slackCfg, router).Run(ctx)
	m.Logger.InfoContext(ctx, "stopped")
	return err
}

func (m *Main) console(ctx context.Context) error {
	p, err := m.realParts(m.consoleProgress)
	if err != nil {
		return err
	}
	return m.runConsole(ctx, p, nil)
}

// consoleProgress prints a line per step of every run.
func (m *Main) consoleProgress(tasks.RunService) tasks.ProgressReporter {
	return &handlers.ConsoleProgress{Out: m.Stdout, Domain: m.Config.Domain}
}

// runConsole reads commands until end of input, then waits for the runs
// they started (Ctrl-C leaves them for the next start).
func (m *Main) runConsole(ctx context.Context, p parts, tour []string) error {
	router, runner, err := m.build(ctx, p, handlers.ConsoleUserID)
	if err != nil {
		return err
	}
	if p.afterBuild != nil {
		if err := p.afterBuild(ctx); err != nil {
			return err
		}
	}
	m.startScheduler(ctx)
	user := handlers.ConsoleUserID
	if m.Opts.As != "" {
		user = m.Opts.As
	}
	for _, line := range tour {
		reply := router.Handle(ctx, user, line)
		fmt.Fprintf(m.Stdout, "> %s\n", line)
		if reply.Form == handlers.FormPassword && m.tourPassword != "" {
			// The tour types into the form what a person would.
			fmt.Fprintln(m.Stdout, "New JupyterLab password (not shown): [the demo types one]")
			reply = router.SetPassword(ctx, user, m.tourPassword)
		}
		fmt.Fprintf(m.Stdout, "%s\n", reply)
	}
	c := &handlers.Console{Router: router, UserID: user, In: m.Stdin, Out: m.Stdout}
	if isTerminal(m.Stdin) {
		c.Prompt = "cicf> "
	}
	if err := c.Run(ctx); err != nil {
		return err
	}
	idle := make(chan struct{})
	go func() { runner.Wait(); close(idle) }()
	select {
	case <-idle:
	case <-ctx.Done():
	}
	return nil
}

// isTerminal reports whether r is an interactive terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// runUntilClose runs run in the background with a context that ctx's end
// does not cancel; Close cancels it and waits for run to return, so what
// run has begun (a post to Slack) ends before the store closes.
func (m *Main) runUntilClose(ctx context.Context, run func(context.Context)) {
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); run(rctx) }()
	m.closers = append(m.closers, func() error { stop(); <-done; return nil })
}
