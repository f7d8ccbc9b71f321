// Command provision measures how long `/cicf provision all` takes for a
// class, against provisioning one VM, with the bot's real tasks.Runner,
// store and DigitalOcean adapter talking over loopback to the DO stand-in
// (internal/dosim) and to simulated VMs (internal/vmsim).
//
// The stand-in answers with realistic delays (API latency 100–200 ms, boot
// 45 s) and enforces DO's 250 requests a minute; the adapter paces itself
// to 240. All of it runs compressed in time: every duration on both sides
// (latencies, boot, rate windows, poll intervals, timeouts) is multiplied
// by -scale, and the report divides wall times by it again ("modelled"
// time). Work that is not simulated (SQLite, CPU, loopback HTTP) is not
// compressed, so it weighs 1/scale times more in modelled time than it
// would for real: at the default 0.1 a lone provision models within a few
// percent of an uncompressed run (-scale 1), at 0.02 it is 5–10% slower.
//
// The adapter keeps its default per-call timeout (20 s, budget waits
// included; -call-timeout, compressed too), so a run that waits too long
// for the budget fails as it would in production; -call-timeout 0 shows
// the time the class would take if it could not. -pacer window swaps the
// adapter's token bucket for an experimental sliding-window budget.
//
// Scenarios, each in a fresh world (store, stand-in, VMs, runner): one VM;
// -n VMs in parallel (Start each, as provision all does, then Wait); and a
// sequential loop (Start, Wait, next) over -seq VMs, whose per-VM time is
// extrapolated to -n.
//
// Usage, from the module root:
//
//	go run ./bench/provision [-n 50] [-seq 10] [-scale 0.1] [-seed 1] [-runs 1]
//
// -seed fixes the SSH keys and the latency jitter; goroutine scheduling
// still varies, so -runs repeats everything. Progress and warnings (failed
// runs, with their errors) go to stderr, the markdown report to stdout. The
// exit code is 1 if a scenario's end state is wrong (droplets, DNS records,
// stored VMs, or a run not done).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"
)

// config is the command line. Durations are real-world ones; scaled turns
// them into the compressed ones the run uses.
type config struct {
	n, seq, runs           int
	scale                  float64
	seed                   uint64
	latencyMin, latencyMax time.Duration
	boot, action           time.Duration
	sshLatency             time.Duration
	cloudInit              time.Duration
	poll                   time.Duration
	timeout                time.Duration
	rate, doRate           int
	target                 float64
	pacer                  string
	margin                 time.Duration
	verbose                bool
}

func (c config) scaled(d time.Duration) time.Duration { return time.Duration(float64(d) * c.scale) }

// modelled turns a measured (compressed) duration back into real-world time.
func (c config) modelled(d time.Duration) time.Duration { return time.Duration(float64(d) / c.scale) }

// callTimeout is the adapter's Timeout: -call-timeout compressed, or a day
// (never reached) for 0.
func (c config) callTimeout() time.Duration {
	if c.timeout <= 0 {
		return 24 * time.Hour
	}
	return c.scaled(c.timeout)
}

func main() { os.Exit(run()) }

func run() int {
	var cfg config
	flag.IntVar(&cfg.n, "n", 50, "students provisioned in parallel")
	flag.IntVar(&cfg.seq, "seq", 10, "students provisioned one after another (per-VM time is extrapolated to -n)")
	flag.Float64Var(&cfg.scale, "scale", 0.1, "time compression: every simulated duration is multiplied by this")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed for SSH keys and API latency jitter")
	flag.DurationVar(&cfg.latencyMin, "latency-min", 100*time.Millisecond, "least DO API latency per request (real-world)")
	flag.DurationVar(&cfg.latencyMax, "latency-max", 200*time.Millisecond, "most DO API latency per request (real-world)")
	flag.DurationVar(&cfg.boot, "boot", 45*time.Second, "droplet create to active (real-world)")
	flag.DurationVar(&cfg.action, "action", 10*time.Second, "droplet action duration (real-world)")
	flag.DurationVar(&cfg.sshLatency, "ssh-latency", 150*time.Millisecond, "each SSH dial, command, upload and HTTPS probe (real-world)")
	flag.DurationVar(&cfg.cloudInit, "cloud-init", 0, "cloud-init's run on a booted droplet (real-world); 0: done at once, as vmsim has it")
	flag.DurationVar(&cfg.poll, "poll", 5*time.Second, "runner poll interval (real-world; the bot's default)")
	flag.DurationVar(&cfg.timeout, "call-timeout", 20*time.Second, "the adapter's per-call timeout, budget waits included (real-world; its default); 0: none")
	flag.IntVar(&cfg.rate, "rate", 240, "the adapter's request budget per minute (its default)")
	flag.IntVar(&cfg.doRate, "do-rate", 250, "the stand-in's limit per minute (DO's)")
	flag.StringVar(&cfg.pacer, "pacer", "bucket", "bucket: the adapter's own pacing; window: experiment, a sliding-window budget of -rate in its place (see pacer.go)")
	flag.DurationVar(&cfg.margin, "window-margin", 2*time.Second, "with -pacer window: how much longer than a minute its window is (real-world)")
	flag.Float64Var(&cfg.target, "target", 1.3, "target for parallel wall time over one VM's")
	flag.IntVar(&cfg.runs, "runs", 1, "repetitions of all three scenarios; the details are the last one's")
	flag.BoolVar(&cfg.verbose, "v", false, "log the runner and the adapter at debug level to stderr")
	flag.Parse()
	if cfg.n < 1 || cfg.seq < 1 || cfg.runs < 1 || cfg.scale <= 0 || cfg.latencyMax < cfg.latencyMin || (cfg.pacer != "bucket" && cfg.pacer != "window") {
		fmt.Fprintln(os.Stderr, "provision: need -n, -seq and -runs ≥ 1, -scale > 0, -latency-max ≥ -latency-min, and -pacer bucket or window")
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	level := slog.LevelWarn
	if cfg.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	plan := []struct {
		name       string
		vms        int
		sequential bool
	}{
		{"one VM", 1, false},
		{fmt.Sprintf("%d in parallel", cfg.n), cfg.n, false},
		{fmt.Sprintf("sequential loop of %d", cfg.seq), cfg.seq, true},
	}
	load := loadAvg()
	var reps [][]*result
	for rep := range cfg.runs {
		var results []*result
		for i, p := range plan {
			fmt.Fprintf(os.Stderr, "provision: run %d/%d: %s …\n", rep+1, cfg.runs, p.name)
			res, err := scenario(ctx, cfg, p.name, p.vms, p.sequential, cfg.seed+uint64(rep*len(plan)+i)*1000, logger)
			if err != nil {
				fmt.Fprintf(os.Stderr, "provision: %s: %v\n", p.name, err)
				return 1
			}
			fmt.Fprintf(os.Stderr, "provision: %s: %v wall, %d requests, %d done, %d failed\n",
				p.name, res.wall.Round(time.Millisecond), res.requests, res.done, len(res.failed))
			results = append(results, res)
		}
		reps = append(reps, results)
	}
	report(os.Stdout, cfg, reps, load+" before, "+loadAvg()+" after")
	for _, results := range reps {
		for _, r := range results {
			if len(r.problems) > 0 {
				return 1
			}
		}
	}
	return 0
}
