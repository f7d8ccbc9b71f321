package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// round is one measurement of the sweep and of the reference.
type round struct {
	sweep               childReport
	sweepRSSKB          int64
	sweepCPU            time.Duration
	keyscan, curl       time.Duration
	keysOK, httpsOK     int
	keyscanRSS, curlRSS int64
}

func run(ctx context.Context, hosts, runs, parallel int) error {
	fmt.Fprintf(os.Stderr, "setting up %d hosts in namespace %s…\n", hosts, netns)
	c, err := setUp(ctx, hosts)
	if err != nil {
		return err
	}
	defer c.tearDown()
	if err := c.writeReferenceInputs(); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var rounds []round
	for i := range runs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var r round
		if err := c.sweepRound(ctx, self, parallel, &r); err != nil {
			return err
		}
		if err := c.referenceRound(ctx, &r); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "round %d: sweep %.0f ms (%d/%d up, RSS %d MiB, CPU %v) | ssh-keyscan %v (%d keys match) + curl --parallel %v (%d × 401)\n",
			i+1, r.sweep.WallMS, r.sweep.Up, hosts, r.sweepRSSKB/1024, r.sweepCPU.Round(time.Millisecond),
			r.keyscan.Round(time.Millisecond), r.keysOK, r.curl.Round(time.Millisecond), r.httpsOK)
		if r.sweep.Up != hosts || r.sweep.VMs != hosts {
			return fmt.Errorf("round %d: the sweep found %d of %d VMs up (%d checked; first failure: %s)", i+1, r.sweep.Up, hosts, r.sweep.VMs, r.sweep.FirstBad)
		}
		if r.keysOK != hosts || r.httpsOK != hosts {
			return fmt.Errorf("round %d: the reference saw %d keys and %d HTTPS 401s of %d", i+1, r.keysOK, r.httpsOK, hosts)
		}
		rounds = append(rounds, r)
	}
	report(hosts, parallel, rounds)
	return nil
}

func (c *class) sweepRound(ctx context.Context, self string, parallel int, r *round) error {
	cmd := exec.CommandContext(ctx, self, "-child", c.dir, "-parallel", fmt.Sprint(parallel))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("sweep child: %v: %s", err, errb.String())
	}
	if err := json.Unmarshal(out.Bytes(), &r.sweep); err != nil {
		return fmt.Errorf("sweep child said %q: %w", out.String(), err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	r.sweepRSSKB = ru.Maxrss
	r.sweepCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return nil
}

// writeReferenceInputs writes ssh-keyscan's host list and curl's config:
// one URL per VM, resolved to its address, the certificate checked
// against the test CA.
func (c *class) writeReferenceInputs() error {
	var hostsList, curlCfg strings.Builder
	for i := range c.hosts {
		fmt.Fprintln(&hostsList, hostAddr(i))
		fqdn := hostName(i) + "." + domain
		fmt.Fprintf(&curlCfg, "url = \"https://%s/\"\nresolve = \"%s:443:%s\"\noutput = \"/dev/null\"\n", fqdn, fqdn, hostAddr(i))
	}
	if err := os.WriteFile(c.path("hosts.txt"), []byte(hostsList.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(c.path("curl.cfg"), []byte(curlCfg.String()), 0o644)
}

// referenceRound runs what an instructor would by hand: ssh-keyscan for
// the host keys, then curl over every VM's HTTPS, in parallel.
func (c *class) referenceRound(ctx context.Context, r *round) error {
	pin, err := os.ReadFile(c.path("host_key.pub"))
	if err != nil {
		return err
	}
	want := strings.Fields(string(pin))[1]
	start := time.Now()
	ks := exec.CommandContext(ctx, "ssh-keyscan", "-T", "5", "-t", "ed25519", "-f", c.path("hosts.txt"))
	out, err := ks.Output()
	if err != nil {
		return fmt.Errorf("ssh-keyscan: %w", err)
	}
	r.keyscan = time.Since(start)
	r.keyscanRSS = ks.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[2] == want {
			r.keysOK++
		}
	}
	start = time.Now()
	cu := exec.CommandContext(ctx, "curl", "-s", "--parallel", "--parallel-max", "64", "--cacert", c.path("ca.crt"),
		"-w", "%{http_code}\n", "-K", c.path("curl.cfg"))
	out, err = cu.Output()
	if err != nil && len(out) == 0 {
		return fmt.Errorf("curl: %w", err)
	}
	r.curl = time.Since(start)
	r.curlRSS = cu.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	r.httpsOK = strings.Count(string(out), "401\n")
	return nil
}

func report(hosts, parallel int, rounds []round) {
	med := func(f func(round) float64) (float64, float64) {
		v := make([]float64, len(rounds))
		for i, r := range rounds {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2], v[len(v)-1]
	}
	sw, swW := med(func(r round) float64 { return r.sweep.WallMS })
	rss, rssW := med(func(r round) float64 { return float64(r.sweepRSSKB) / 1024 })
	cpu, cpuW := med(func(r round) float64 { return float64(r.sweepCPU.Milliseconds()) })
	ks, ksW := med(func(r round) float64 { return float64(r.keyscan.Microseconds()) / 1000 })
	cu, cuW := med(func(r round) float64 { return float64(r.curl.Microseconds()) / 1000 })
	ref, refW := med(func(r round) float64 { return float64((r.keyscan + r.curl).Microseconds()) / 1000 })
	fmt.Printf("uptime sweep of %d hosts, %d rounds (median / worst); every round: all %d VMs up in the sweep, all keys and 401s in the reference\n\n", hosts, len(rounds), hosts)
	fmt.Printf("| what | wall | other |\n|---|---|---|\n")
	fmt.Printf("| cicf-bot uptime sweep (ssh + hostkey + https + cert, parallel %d, results and alert state stored) | %.0f / %.0f ms | peak RSS %.0f / %.0f MiB, CPU %.0f / %.0f ms |\n", parallel, sw, swW, rss, rssW, cpu, cpuW)
	fmt.Printf("| reference: `ssh-keyscan -t ed25519 -f hosts` | %.0f / %.0f ms | peak RSS %d MiB |\n", ks, ksW, rounds[0].keyscanRSS/1024)
	fmt.Printf("| reference: `curl --parallel --parallel-max 64` (HTTPS status, cert checked) | %.0f / %.0f ms | peak RSS %d MiB |\n", cu, cuW, rounds[0].curlRSS/1024)
	fmt.Printf("| reference total | %.0f / %.0f ms | |\n", ref, refW)
}
