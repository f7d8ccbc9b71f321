package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report writes the markdown report of reps, the repetitions: in each,
// [0] is one VM, [1] parallel and [2] the sequential loop. The details are
// the last repetition's.
func report(w io.Writer, cfg config, reps [][]*result, load string) {
	results := reps[len(reps)-1]
	one, par, seq := results[0], results[1], results[2]
	sec := func(d time.Duration) string { return fmt.Sprintf("%.1f", cfg.modelled(d).Seconds()) }

	fmt.Fprintf(w, "## Provisioning %d VMs in parallel against one\n\n", cfg.n)
	fmt.Fprintf(w, "Command: `%s`\n\n", command())
	fmt.Fprintf(w, "Machine: %s, nproc %d, %s %s/%s; load average %s.\n\n", cpuModel(), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, load)
	fmt.Fprintf(w, "Modelled (real-world) settings, all multiplied by %g while running: DO API latency %v–%v per request, "+
		"droplet boot %v, cloud-init after boot %v, SSH/HTTPS round trip %v, runner poll %v, adapter call timeout %v; "+
		"DO's limit %d/min, the adapter's budget %d/min (%s pacing). \"Modelled\" columns divide wall time by %g.\n\n",
		cfg.scale, cfg.latencyMin, cfg.latencyMax, cfg.boot, cfg.cloudInit, cfg.sshLatency, cfg.poll, cfgTimeout(cfg),
		cfg.doRate, cfg.rate, cfg.pacer, cfg.scale)

	if len(reps) > 1 {
		fmt.Fprintln(w, "| run | one VM, modelled | parallel, modelled | × one VM | requests per VM | 429s | runs failed | sequential per VM, modelled |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|")
		for i, rs := range reps {
			fmt.Fprintf(w, "| %d | %s s | %s s | %.2f | %.1f | %d | %d | %s s |\n", i+1, sec(rs[0].wall), sec(rs[1].wall),
				rs[1].wall.Seconds()/rs[0].wall.Seconds(), float64(rs[1].requests)/float64(rs[1].vms),
				rs[0].status429+rs[1].status429+rs[2].status429, len(rs[0].failed)+len(rs[1].failed)+len(rs[2].failed),
				sec(rs[2].wall/time.Duration(rs[2].vms)))
		}
		fmt.Fprintf(w, "\nDetails of run %d:\n\n", len(reps))
	}
	fmt.Fprintln(w, "| scenario | VMs | wall | modelled | modelled per VM | × one VM | DO requests | per VM | 429s | other non-2xx | peak per modelled min | runs done | runs failed |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		fmt.Fprintf(w, "| %s | %d | %v | %s s | %s s | %.2f | %d | %.1f | %d | %d | %d | %d | %d |\n",
			r.name, r.vms, r.wall.Round(time.Millisecond), sec(r.wall), sec(r.wall/time.Duration(r.vms)),
			r.wall.Seconds()/one.wall.Seconds(), r.requests, float64(r.requests)/float64(r.vms),
			r.status429, r.otherFail, r.peakWindow, r.done, len(r.failed))
	}
	seqPerVM := seq.wall / time.Duration(seq.vms)
	fmt.Fprintf(w, "\nSequential loop extrapolated to %d VMs: %d × %s s = %s s modelled, %.1f× the parallel run.\n\n",
		cfg.n, cfg.n, sec(seqPerVM), sec(seqPerVM*time.Duration(cfg.n)),
		float64(seqPerVM)*float64(cfg.n)/float64(par.wall))

	ratio := par.wall.Seconds() / one.wall.Seconds()
	verdict := "met"
	if ratio > cfg.target {
		verdict = "missed"
	}
	fmt.Fprintf(w, "Parallel over one VM: **%.2f×** (target ≤ %g×: %s); one VM takes %s s, so the target is %.1f s.\n\n",
		ratio, cfg.target, verdict, sec(one.wall), cfg.target*cfg.modelled(one.wall).Seconds())
	fmt.Fprintf(w, "Starting the %d parallel runs (Start in a loop, as `/cicf provision all` does) took %v of real time, %s s modelled: "+
		"it is real SQLite and CPU work, which compression does not shrink.\n\n", par.vms, par.starts.Round(time.Millisecond), sec(par.starts))
	budgetModel(w, cfg, one)

	fmt.Fprintln(w, "Where a run's time goes, modelled seconds per step (mean; max):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| step | one VM | parallel | sequential |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	titles := par.stepTitles
	if titles == nil {
		titles = one.stepTitles
	}
	for i, title := range titles {
		fmt.Fprintf(w, "| %s |", title)
		for _, r := range results {
			fmt.Fprintf(w, " %s |", meanMax(cfg, r.steps[i]))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| whole run (Start to done) |")
	for _, r := range results {
		fmt.Fprintf(w, " %s |", meanMax(cfg, r.runTimes))
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "\nDO requests per VM, by kind:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| request | one VM | parallel | sequential |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	var kinds []string
	for _, r := range results {
		for k := range r.kinds {
			if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, "| `%s` |", k)
		for _, r := range results {
			fmt.Fprintf(w, " %.2f |", float64(r.kinds[k])/float64(r.vms))
		}
		fmt.Fprintln(w)
	}

	for _, r := range results {
		if len(r.failed) == 0 {
			continue
		}
		why := map[string]int{}
		for _, f := range r.failed {
			_, msg, _ := strings.Cut(f, ": ")
			why[msg]++
		}
		fmt.Fprintf(w, "\nFailed runs of %s, by error:\n\n", r.name)
		for _, msg := range slices.Sorted(maps.Keys(why)) {
			fmt.Fprintf(w, "- %d × %s\n", why[msg], msg)
		}
	}

	fmt.Fprintln(w, "\nEnd state (one active droplet, one A and one AAAA record pointing at it, and a stored VM with a pinned host key per student; every run done):")
	fmt.Fprintln(w)
	for _, r := range results {
		if len(r.problems) == 0 {
			fmt.Fprintf(w, "- %s: correct (%d droplets, %d A and %d AAAA records, %d runs done).\n", r.name, r.vms, r.vms, r.vms, r.done)
			continue
		}
		fmt.Fprintf(w, "- %s: **%d problems**:\n", r.name, len(r.problems))
		for _, p := range r.problems[:min(len(r.problems), 10)] {
			fmt.Fprintf(w, "  - %s\n", p)
		}
	}
}

// budgetModel explains the parallel time by the adapter's request budget,
// from the one-VM run: its requests before the droplet is up (find, then
// create) and after (DNS, droplet details), and its step times. Shared
// class-wide polls are left out; they cost one request per poll for all.
func budgetModel(w io.Writer, cfg config, one *result) {
	pre := one.kinds["GET /v2/droplets?tag_name=cicf-student:NAME"] + one.kinds["POST /v2/droplets"]
	post := one.requests - pre - one.kinds["GET /v2/droplets?tag_name="+tag+" (shared)"]
	mean := func(i int) float64 {
		var sum time.Duration
		for _, d := range one.steps[i] {
			sum += d
		}
		if len(one.steps[i]) == 0 {
			return 0
		}
		return cfg.modelled(sum / time.Duration(len(one.steps[i]))).Seconds()
	}
	total := cfg.modelled(one.wall).Seconds()
	create, boot, dns := mean(0), mean(1), mean(2)
	rest := total - create - boot - dns // SSH, payload and checks
	// The droplet runs cloud-init whether or not the bot is still busy with
	// DNS, so waiting for it may overlap the DNS queue; the rest may not.
	after := rest - mean(3)
	// The adapter's pacer (digitalocean/pace.go): a burst of rate/24, then
	// rate minus that burst per minute.
	burst := float64(max(1, cfg.rate/24))
	pace := float64(cfg.rate) - burst // per minute
	n := float64(cfg.n)
	lastCreate := max(0, n*float64(pre)-burst) / pace * 60
	dnsDrain := n * float64(post) / pace * 60
	boundCreate := lastCreate + boot + dns + rest
	boundDNS := max(create+boot+dnsDrain+after, total)
	target := cfg.target * total
	fmt.Fprintf(w, "Budget model. One provision sends %d requests of its own before its droplet is up (find by tag, create) "+
		"and %d after (DNS, droplet details), besides the class-wide status polls all waiting runs share. "+
		"The adapter paces at %.0f/min after a burst of %.0f. For %d VMs that gives two lower bounds:\n\n", pre, post, pace, burst, cfg.n)
	fmt.Fprintf(w, "- the last create leaves after (%d × %d − %.0f) ÷ %.0f/min = %.1f s, and its VM then needs boot, DNS and the rest like a lone one: ≥ %.1f s (%.2f× one VM);\n",
		cfg.n, pre, burst, pace, lastCreate, boundCreate, boundCreate/total)
	fmt.Fprintf(w, "- the first droplet is up after %.1f s, and the %d × %d requests after boot take %.1f s at that pace; "+
		"the last VM then needs its SSH steps (%.1f s besides waiting for cloud-init, which may overlap): ≥ %.1f s (%.2f× one VM).\n\n",
		create+boot, cfg.n, post, dnsDrain, after, boundDNS, boundDNS/total)
	fmt.Fprintf(w, "For ≤ %g× (%.1f s) with this pacing, each VM may send at most %.1f requests before boot and %.1f after.\n\n",
		cfg.target, target, ((target-boot-dns-rest)*pace/60+burst)/n, (target-create-boot-after)*pace/60/n)
}

func cfgTimeout(cfg config) string {
	if cfg.timeout <= 0 {
		return "none"
	}
	return cfg.timeout.String()
}

func meanMax(cfg config, ds []time.Duration) string {
	if len(ds) == 0 {
		return "–"
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return fmt.Sprintf("%.1f; %.1f", cfg.modelled(sum/time.Duration(len(ds))).Seconds(), cfg.modelled(slices.Max(ds)).Seconds())
}

// command returns the command line that reproduces the run, with the main
// flags always spelled out.
func command() string {
	args := []string{"go run ./bench/provision"}
	main := []string{"n", "seq", "scale", "seed", "runs"}
	for _, name := range main {
		args = append(args, "-"+name+" "+flag.Lookup(name).Value.String())
	}
	flag.Visit(func(f *flag.Flag) {
		if !slices.Contains(main, f.Name) {
			args = append(args, "-"+f.Name+" "+f.Value.String())
		}
	})
	return strings.Join(args, " ")
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// loadAvg returns the 1-minute load average: other work on the machine
// slows the uncompressed part of a run, and compression magnifies it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	first, _, _ := strings.Cut(string(b), " ")
	return first
}
