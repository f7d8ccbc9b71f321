// Command scan benchmarks `cicf-bot scan` (probe.Scanner, run as its own
// process so its RSS is its own) against nmap -sT -Pn -T4 --top-ports 1000
// on the same namespace hosts in the same run: N addresses (198.19.1.1..N,
// in 198.19.0.0/18; bench/uptime uses 198.19.64.0/18)
// in one network namespace, nftables policy DROP, a few allowed listeners
// on some hosts. Each run checks the open ports are identical, or the
// benchmark exits 1. It deletes the namespace, link and listeners it made,
// also on failure and on SIGINT/SIGTERM. Root only.
//
//	go run ./bench/scan -hosts 100 -runs 5 -sockets 4000,8000
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/cicf/cicf-bot/bench/internal/rootbench"
	"github.com/cicf/cicf-bot/internal/nmapxml"
)

const ns, link = "cicfscanbench", "cscanbench"

// tmpDir is the bench's temporary directory, for the signal handler.
var tmpDir atomic.Pointer[string]

func main() {
	hosts := flag.Int("hosts", 100, "namespace hosts (1..250), 198.19.1.1..N")
	sockets := flag.String("sockets", "8000", "cicf-bot scan --sockets; several, comma-separated, are each compared")
	runs := flag.Int("runs", 1, "runs of both scanners on the same hosts")
	flag.Parse()
	// A signal still removes the namespace, its link and the listeners.
	rootbench.UndoOnSignal(func() {
		killNamespacePids()
		cleanup()
		if d := tmpDir.Load(); d != nil {
			os.RemoveAll(*d)
		}
	})
	os.Exit(bench(*hosts, *sockets, *runs))
}

func bench(n int, sockets string, runs int) int {
	if n < 1 || n > 250 || runs < 1 {
		fmt.Fprintln(os.Stderr, "-hosts must be 1..250 and -runs at least 1")
		return 2
	}
	if err := rootbench.NeedTools("iproute2 nftables python3 nmap", "ip", "nft", "python3", "nmap", "go"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "scanbench")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tmpDir.Store(&dir)
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "cicf-bot")
	if err := sh("go", "build", "-o", bin, "github.com/cicf/cicf-bot/cmd/bot"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cleanup()
	defer cleanup()
	addrs, stop, err := setup(n)
	if stop != nil {
		defer stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var cs []*contender
	for _, k := range strings.Split(sockets, ",") {
		if _, err := strconv.Atoi(k); err != nil {
			fmt.Fprintf(os.Stderr, "-sockets %q: type numbers separated by commas\n", sockets)
			return 2
		}
		cs = append(cs, &contender{name: "cicf-bot scan --sockets " + k, cmd: append([]string{bin, "scan", "--json", "--sockets", k}, addrs...)})
	}
	var nmapWall []float64
	for r := 1; r <= runs; r++ {
		res := make([]run, len(cs))
		for i, c := range cs {
			fmt.Fprintf(os.Stderr, "run %d: %s\n", r, c.name)
			if res[i] = measure(c.cmd[0], c.cmd[1:]...); res[i].err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", c.name, res[i].err)
				return 1
			}
		}
		fmt.Fprintf(os.Stderr, "run %d: nmap\n", r)
		b := measure("nmap", append([]string{"-sT", "-Pn", "-n", "-T4", "--top-ports", "1000", "-oX", "-"}, addrs...)...)
		if b.err != nil {
			fmt.Fprintln(os.Stderr, "nmap:", b.err)
			return 1
		}
		want, err := nmapxml.OpenPorts(b.stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		openCount := 0
		for _, a := range addrs {
			openCount += len(want[a])
		}
		nmapWall = append(nmapWall, b.wall.Seconds())
		fmt.Printf("run %d: %d hosts x 1000 ports, %d open | nmap -sT -Pn -T4 %.2fs (CPU %.2fs), peak fds %d (sampled), peak RSS %d MiB\n",
			r, n, openCount, b.wall.Seconds(), b.cpu.Seconds(), b.peakFDs, b.rssKiB/1024)
		failed := len(want) != n || openCount == 0
		for i, c := range cs {
			got, err := parseJSONLines(res[i].stdout)
			mismatch := 0
			if err != nil || len(got) != n {
				fmt.Fprintf(os.Stderr, "%s: %d hosts reported, want %d (%v)\n", c.name, len(got), n, err)
				mismatch++
			}
			for _, a := range addrs {
				if !slices.Equal(got[a], want[a]) {
					mismatch++
					fmt.Fprintf(os.Stderr, "MISMATCH %s: %s %v, nmap %v\n", a, c.name, got[a], want[a])
				}
			}
			a := res[i]
			c.add(a, b.wall.Seconds()/a.wall.Seconds())
			fmt.Printf("run %d: %s %.2fs (CPU %.2fs), peak sockets %d (own counter), peak fds %d (sampled), peak RSS %d MiB | %.1fx faster | mismatched hosts %d\n",
				r, c.name, a.wall.Seconds(), a.cpu.Seconds(), peakSockets(a.stderr), a.peakFDs, a.rssKiB/1024, b.wall.Seconds()/a.wall.Seconds(), mismatch)
			failed = failed || mismatch > 0
		}
		if failed {
			fmt.Fprintln(os.Stderr, "FAIL: the open ports differ from nmap's (or nmap found none: the setup is wrong)")
			return 1
		}
	}
	fmt.Printf("%d runs of %d hosts, open ports identical to nmap's in every run; nmap median %.2fs\n", runs, n, median(nmapWall))
	for _, c := range cs {
		fmt.Printf("  %s: median %.2fs, worst %.2fs; faster than nmap: median %.1fx, worst %.1fx; peak RSS at most %d MiB\n",
			c.name, median(c.wall), slices.Max(c.wall), median(c.ratio), slices.Min(c.ratio), c.rssKiB/1024)
	}
	return 0
}

// contender is a scanner compared with nmap, and its runs.
type contender struct {
	name        string
	cmd         []string
	wall, ratio []float64
	rssKiB      int64
}

func (c *contender) add(r run, ratio float64) {
	c.wall, c.ratio = append(c.wall, r.wall.Seconds()), append(c.ratio, ratio)
	c.rssKiB = max(c.rssKiB, r.rssKiB)
}

func sh(args ...string) error {
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%q: %v: %s", args, err, out)
	}
	return nil
}

func killNamespacePids() {
	if out, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

func cleanup() {
	exec.Command("ip", "netns", "del", ns).Run()
	exec.Command("ip", "link", "del", link).Run()
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
