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

	db      *store.DB
	closers []func() error // run in reverse order by Close
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
		return m.console(ctx, m.Config.DOAPIURL)
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

// router opens the store and builds the domain services and the Router.
// extraInstructors are user IDs granted the instructor role besides the
// configured ones (the console's own ID).
func (m *Main) router(ctx context.Context, doURL string, extraInstructors ...string) (*handlers.Router, error) {
	db, err := store.Open(ctx, m.Config.DB, m.Now)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", m.Config.DB, err)
	}
	m.db = db
	m.closers = append(m.closers, db.Close)

	students := store.NewStudentService(db)
	instructors := map[string]bool{}
	for _, id := range append(m.Config.Instructors, extraInstructors...) {
		instructors[id] = true
	}
	do := digitalocean.New(digitalocean.Config{Token: m.Config.DOToken, BaseURL: doURL, Logger: m.Logger})
	return handlers.NewRouter(handlers.RouterDeps{
		Directory: &tasks.Directory{Instructors: instructors, Students: students},
		Fleet: &tasks.Fleet{
			Students: students, VMs: store.NewVMService(db), Droplets: do,
			Tag: m.Config.Tag, Domain: m.Config.Domain, Now: m.Now, Logger: m.Logger,
		},
		Students: students,
		Audit:    store.NewAuditLog(db),
		Logger:   m.Logger,
		Now:      m.Now,
	}), nil
}

func (m *Main) serve(ctx context.Context) error {
	router, err := m.router(ctx, m.Config.DOAPIURL)
	if err != nil {
		return err
	}
	m.Logger.InfoContext(ctx, "starting", "version", version, "db", m.Config.DB, "instructors", len(m.Config.Instructors))
	bot := handlers.NewSlackBot(handlers.SlackConfig{
		AppToken: m.Config.SlackAppToken,
		BotToken: m.Config.SlackBotToken,
		APIURL:   m.Config.SlackAPIURL,
		Logger:   m.Logger,
	}, router)
	err = bot.Run(ctx)
	m.Logger.InfoContext(ctx, "stopped")
	return err
}

func (m *Main) console(ctx context.Context, doURL string) error {
	router, err := m.router(ctx, doURL, handlers.ConsoleUserID)
	if err != nil {
		return err
	}
	c := &handlers.Console{Router: router, UserID: handlers.ConsoleUserID, In: m.Stdin, Out: m.Stdout}
	if m.Opts.As != "" {
		c.UserID = m.Opts.As
	}
	if isTerminal(m.Stdin) {
		c.Prompt = "cicf> "
	}
	return c.Run(ctx)
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
