// Command ackburst measures the front door of `cicf-bot serve` next to a
// reference bot, in the same run: the idle resident memory of the process,
// and the ack latency of a burst of simultaneous slash commands sent through
// the Slack stand-in (internal/slacksim) over loopback. Slack shows the user
// an error when an ack takes more than 3 s; the project's targets are ack
// p99 ≤ 50 ms for a burst of 200 and idle RSS ≤ 30 MB.
//
// The reference (bench/refbot) is the minimal slack-go socket-mode bot: it
// acks and answers "ok". Its numbers are the floor set by slack-go, the Go
// runtime, the stand-in and this machine; the difference is cicf-bot's own.
//
// Usage, from the module root:
//
//	go run ./bench/ackburst [-runs 5] [-n 200] [-bot PATH] [-ref PATH]
//
// Without -bot and -ref it builds both binaries into a temporary directory.
// Progress goes to stderr, the markdown report to stdout. The exit code is
// 1 if any envelope timed out, any reply is missing, or a bot did not exit
// 0 on SIGTERM.
package main

import (
	"context"
	"debug/buildinfo"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	botPath, refPath string
	n, runs, class   int
	idle, settle     time.Duration
	pause            time.Duration
	replyTimeout     time.Duration
	doRate           int
	keep, verbose    bool
	csv              string
	also             []bot
}

func main() { os.Exit(run()) }

func run() int {
	var cfg config
	flag.StringVar(&cfg.botPath, "bot", "", "cicf-bot binary (default: go build ./cmd/bot into a temp dir)")
	flag.StringVar(&cfg.refPath, "ref", "", "reference binary (default: go build ./bench/refbot into a temp dir)")
	flag.IntVar(&cfg.n, "n", 200, "slash commands per burst, all sent at once")
	flag.IntVar(&cfg.runs, "runs", 5, "bursts per bot")
	flag.IntVar(&cfg.class, "class", 20, "students on the roster, each with a droplet tagged cicf")
	flag.DurationVar(&cfg.idle, "idle", 5*time.Second, "idle time after connecting, before reading idle RSS")
	flag.DurationVar(&cfg.settle, "settle", 5*time.Second, "idle time after the last burst, before reading RSS again")
	flag.DurationVar(&cfg.pause, "pause", time.Second, "pause between bursts")
	flag.DurationVar(&cfg.replyTimeout, "reply-timeout", time.Minute, "how long a burst waits for all its replies")
	flag.IntVar(&cfg.doRate, "do-rate", 0, "DigitalOcean stand-in's request budget per minute (default: DO's own, 250)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep each bot's temp dir (database, stderr log)")
	flag.BoolVar(&cfg.verbose, "v", false, "print one reply per command text")
	flag.StringVar(&cfg.csv, "csv", "", "also write every envelope's send, ack and reply times to this CSV file")
	flag.Func("also", "`NAME=PATH` of another cicf-bot build to measure in the same run, e.g. a candidate fix (repeatable)", func(v string) error {
		name, path, ok := strings.Cut(v, "=")
		if !ok || name == "" || path == "" || strings.ContainsAny(name, `/\ `) {
			return errors.New("want NAME=PATH, NAME without slashes or spaces")
		}
		cfg.also = append(cfg.also, bot{name: name, path: path, args: []string{"serve"}})
		return nil
	})
	flag.Parse()
	if flag.NArg() > 0 || cfg.n < 1 || cfg.runs < 1 || cfg.class < 1 {
		flag.Usage()
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cleanup, err := build(ctx, &cfg)
	defer cleanup()
	if err != nil {
		logf("%v", err)
		return 1
	}
	bots := []bot{{name: "cicf-bot", path: cfg.botPath, args: []string{"serve"}}}
	bots = append(bots, cfg.also...)
	bots = append(bots, bot{name: "refbot", path: cfg.refPath})
	if l := loadAvg(); l >= 1 {
		logf("warning: load average %.2f before starting; other work on the machine inflates ack latency", l)
	}
	rep, err := measure(ctx, bots, cfg)
	if err != nil {
		logf("%v", err)
		return 1
	}
	rep.print(os.Stdout, cfg)
	if cfg.csv != "" {
		if err := rep.writeCSV(cfg.csv); err != nil {
			logf("%v", err)
			return 1
		}
	}
	if problems := rep.problems(); len(problems) > 0 {
		for _, p := range problems {
			logf("FAIL: %s", p)
		}
		return 1
	}
	return 0
}

// botReport is everything measured of one bot.
type botReport struct {
	bot       bot
	goVersion string
	binKiB    int64
	idle      memory // before the first command
	after     memory // idle again after the last burst
	runs      []result
	stopErr   error
}

// measure starts every bot, lets them idle, seeds their rosters, then runs
// the bursts, alternating which bot goes first, and stops them.
func measure(ctx context.Context, bots []bot, cfg config) (*report, error) {
	rep := &report{}
	var ins []*instance
	defer func() {
		for _, in := range ins {
			in.close(cfg.keep)
		}
	}()
	for _, b := range bots {
		br := &botReport{bot: b}
		if bi, err := buildinfo.ReadFile(b.path); err == nil {
			br.goVersion = bi.GoVersion
		}
		if st, err := os.Stat(b.path); err == nil {
			br.binKiB = st.Size() >> 10
		}
		logf("%s: starting %s", b.name, b.path)
		in, err := startInstance(ctx, b, cfg)
		if err != nil {
			return nil, err
		}
		ins = append(ins, in)
		rep.bots = append(rep.bots, br)
	}

	logf("idling %v", cfg.idle)
	if err := sleep(ctx, cfg.idle); err != nil {
		return nil, err
	}
	for i, in := range ins {
		m, err := readMemory(in.cmd.Process.Pid)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.bot.name, err)
		}
		rep.bots[i].idle = m
		logf("%s: idle VmRSS %s, VmHWM %s", in.bot.name, mib(m.rss), mib(m.hwm))
	}
	for _, in := range ins {
		odd, err := seed(ctx, in, cfg.class)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.bot.name, err)
		}
		for _, t := range odd {
			logf("%s: unexpected roster add reply: %s", in.bot.name, t)
		}
	}

	if err := runBursts(ctx, ins, rep, cfg); err != nil {
		return nil, err
	}

	logf("idling %v", cfg.settle)
	if err := sleep(ctx, cfg.settle); err != nil {
		return nil, err
	}
	for i, in := range ins {
		if m, err := readMemory(in.cmd.Process.Pid); err == nil {
			rep.bots[i].after = m
		}
		rep.bots[i].stopErr = in.stop(20 * time.Second)
	}
	return rep, nil
}

// runBursts runs cfg.runs bursts against every instance in turn, recording
// the results in rep.
func runBursts(ctx context.Context, ins []*instance, rep *report, cfg config) error {
	for r := range cfg.runs {
		for j := range ins {
			// Reverse the order every other run, so that no bot always
			// runs on the heels of the same other bot's burst.
			i := j
			if r%2 == 1 {
				i = len(ins) - 1 - j
			}
			res := burst(ctx, ins[i], cfg.n, cfg.class, cfg.replyTimeout)
			if err := ctx.Err(); err != nil {
				return err
			}
			rep.bots[i].runs = append(rep.bots[i].runs, res)
			logf("%s run %d: ack p50 %s p99 %s max %s, timeouts %d, replies %d/%d, last reply %s",
				ins[i].bot.name, r+1, ms(percentile(res.acks, 50)), ms(percentile(res.acks, 99)),
				ms(percentile(res.acks, 100)), res.timeouts, res.replies, res.sent, ms(res.lastReply))
			for _, err := range res.sendErrs {
				logf("%s run %d: send: %v", ins[i].bot.name, r+1, err)
			}
			if cfg.verbose && r == 0 {
				for text, reply := range res.samples {
					logf("%s: /cicf %s →\n%s", ins[i].bot.name, text, reply)
				}
			}
			if err := sleep(ctx, cfg.pause); err != nil {
				return err
			}
		}
	}
	return nil
}

// build compiles whichever binary was not given into a temp dir, which
// cleanup removes. cleanup is never nil.
func build(ctx context.Context, cfg *config) (cleanup func(), err error) {
	cleanup = func() {}
	if cfg.botPath != "" && cfg.refPath != "" {
		return cleanup, nil
	}
	dir, err := os.MkdirTemp("", "ackburst-bin-")
	if err != nil {
		return cleanup, fmt.Errorf("build dir: %w", err)
	}
	cleanup = func() { os.RemoveAll(dir) }
	for _, b := range []struct {
		path *string
		pkg  string
	}{
		{&cfg.botPath, "github.com/cicf/cicf-bot/cmd/bot"},
		{&cfg.refPath, "github.com/cicf/cicf-bot/bench/refbot"},
	} {
		if *b.path != "" {
			continue
		}
		out := filepath.Join(dir, filepath.Base(b.pkg))
		logf("go build -o %s %s", out, b.pkg)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, b.pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return cleanup, fmt.Errorf("go build %s (run from the module root): %w", b.pkg, err)
		}
		*b.path = out
	}
	return cleanup, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ackburst: "+format+"\n", args...)
}

// machine describes where the numbers come from.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d CPUs (GOMAXPROCS %d), %s%s; harness built with %s",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), cpu, kernel, runtime.Version())
}
