// Command uptime benchmarks one uptime sweep of the class: the SSH
// handshake with the pinned key, HTTPS through SNI to the VM's address and
// the certificate's days left (tasks.Checker's ssh, https and cert checks,
// through the real sshclient and probe adapters) on N hosts: addresses of
// one network namespace in 198.19.64.0/18 behind one Caddy and two SSH
// servers with one host key: OpenSSH's sshd on 22 and a one-process
// x/crypto/ssh server on 2222 (goserver.go), each swept in turn. A few hosts refuse SSH or HTTPS, so the sweep must tell them
// apart: every result is checked against what each host should give, or it
// exits 1. The sweep runs in a child process so that its peak RSS is its
// own. It deletes the namespace, link and servers, also on failure and on
// SIGINT/SIGTERM. Root only.
//
//	go run ./bench/uptime -hosts 500 -runs 3 -workers 16,64
package main

import (
	"bytes"
	"encoding/json"
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
	"github.com/cicf/cicf-bot/tasks"
)

// domain is the class domain of the bench's VMs (hN.bench.cicf.test).
const domain = "bench.cicf.test"

// tmpDir is the bench's temporary directory, for the signal handler.
var tmpDir atomic.Pointer[string]

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-sweep" {
		os.Exit(sweepMain(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "-goserver" {
		os.Exit(goServerMain(os.Args[2:]))
	}
	hosts := flag.Int("hosts", 500, "hosts (1..500)")
	runs := flag.Int("runs", 1, "sweeps, each in a fresh child process")
	workers := flag.String("workers", "8,64", "VMs the sweep checks at once (AlertsDeps.Parallel; the bot's default is 8); several, comma-separated, each run")
	servers := flag.String("servers", "openssh,go", "SSH servers to sweep, each run: openssh (sshd on 22, forking per connection) and go (one process on 2222, see goserver.go)")
	withRef := flag.Bool("reference", true, "after each sweep, run ssh-keyscan and curl on the same hosts")
	flag.Parse()
	rootbench.UndoOnSignal(func() {
		killNamespacePids()
		cleanup()
		if d := tmpDir.Load(); d != nil {
			os.RemoveAll(*d)
		}
	})
	os.Exit(bench(*hosts, *runs, *workers, *servers, *withRef))
}

// sshServers are the SSH servers a run can sweep, by -servers name.
var sshServers = map[string]int{"openssh": 22, "go": goSSHPort}

func bench(n, runs int, workersList, serverList string, withRef bool) int {
	var ports []int
	for _, s := range strings.Split(serverList, ",") {
		p, ok := sshServers[s]
		if !ok {
			fmt.Fprintf(os.Stderr, "-servers %q: type openssh, go or both, comma-separated\n", serverList)
			return 2
		}
		ports = append(ports, p)
	}
	var workers []int
	for _, w := range strings.Split(workersList, ",") {
		k, err := strconv.Atoi(w)
		if err != nil || k < 1 {
			fmt.Fprintf(os.Stderr, "-workers %q: type numbers of 1 or more, comma-separated\n", workersList)
			return 2
		}
		workers = append(workers, k)
	}
	if n < 1 || n > 500 || runs < 1 {
		fmt.Fprintln(os.Stderr, "-hosts must be 1..500 and -runs at least 1")
		return 2
	}
	if err := rootbench.NeedTools("iproute2 nftables openssh-server caddy", "ip", "nft", "/usr/sbin/sshd", "caddy"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "uptimebench")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tmpDir.Store(&dir)
	defer os.RemoveAll(dir)
	// Every 50th host refuses SSH, every 50th from the 25th refuses HTTPS.
	noSSH, noHTTPS := map[string]bool{}, map[string]bool{}
	for i := 0; i < n; i++ {
		if i%50 == 49 {
			noSSH[hostAddr(i)] = true
		}
		if i%50 == 24 {
			noHTTPS[hostAddr(i)] = true
		}
	}
	cleanup()
	f, err := setup(dir, n, noSSH, noHTTPS)
	defer f.stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if os.Getenv("UPTIME_BENCH_HOLD") != "" { // keep the hosts up to look at them by hand
		fmt.Fprintf(os.Stderr, "hosts up (%s, key %s); press Enter to end\n", f.addrs[0], f.clientKey)
		os.Stdin.Read(make([]byte, 1))
	}
	job := sweepJob{Domain: domain, CAFile: f.caFile, KeyFile: f.clientKey, Dir: dir}
	for i, a := range f.addrs {
		job.VMs = append(job.VMs, tasks.VM{Name: "h" + strconv.Itoa(i), IPv4: a, HostKey: f.hostPub})
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, port := range ports {
		for _, w := range workers {
			job.Workers, job.SSHPort = w, port
			if code := sweepRuns(f, self, job, runs, noSSH, noHTTPS, withRef); code != 0 {
				return code
			}
		}
	}
	return 0
}

// sweepRuns runs the sweep child runs times and checks and reports each.
func sweepRuns(f *fleet, self string, job sweepJob, runs int, noSSH, noHTTPS map[string]bool, withRef bool) int {
	n, workers := len(job.VMs), job.Workers
	jobFile := filepath.Join(job.Dir, "job.json")
	if b, err := json.Marshal(job); err != nil || os.WriteFile(jobFile, b, 0o600) != nil {
		fmt.Fprintln(os.Stderr, "cannot write the job", err)
		return 1
	}
	var walls []float64
	var rssMax int64
	for r := 1; r <= runs; r++ {
		serverCPU := f.serverCPU()
		var out, errb bytes.Buffer
		cmd := exec.Command(self, "-sweep", jobFile)
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "sweep: %v: %s\n", err, errb.Bytes())
			return 1
		}
		var rep sweepReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			fmt.Fprintf(os.Stderr, "sweep output: %v\n", err)
			return 1
		}
		wrong := 0
		for _, vm := range job.VMs {
			want := map[string]tasks.CheckStatus{tasks.CheckSSH: tasks.CheckOK, tasks.CheckHostKey: tasks.CheckOK,
				tasks.CheckHTTPS: tasks.CheckOK, tasks.CheckCert: tasks.CheckOK}
			if noSSH[vm.IPv4] {
				want[tasks.CheckSSH], want[tasks.CheckHostKey] = tasks.CheckFail, tasks.CheckUnknown
			}
			if noHTTPS[vm.IPv4] {
				want[tasks.CheckHTTPS], want[tasks.CheckCert] = tasks.CheckFail, tasks.CheckUnknown
			}
			for check, st := range want {
				if got := rep.Status[vm.Name+"/"+check]; got != st {
					wrong++
					if wrong <= 10 {
						fmt.Fprintf(os.Stderr, "WRONG %s %s: %q (%s), want %q\n", vm.Name, check, got, rep.Detail[vm.Name+"/"+check], st)
					}
				}
			}
		}
		serverCPU = f.serverCPU() - serverCPU
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
		cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		fmt.Printf("%s, run %d: %d hosts x (ssh, hostkey, https, cert), %d VMs at once: sweep %.2fs (CPU: the bot's process %.2fs, sshd and Caddy %.2fs), peak RSS %d MiB | %d results, %d hosts failing as set up, %d wrong\n",
			serverName(job.SSHPort), r, n, workers, rep.WallSeconds, cpu.Seconds(), serverCPU.Seconds(), rss/1024, rep.Results, len(noSSH)+len(noHTTPS), wrong)
		if len(rep.Grouped) > 0 {
			fmt.Fprintf(os.Stderr, "the sweep grouped %v class-wide: the set-up failures are far under half the class\n", rep.Grouped)
			wrong++
		}
		if wrong > 0 {
			fmt.Fprintln(os.Stderr, "FAIL: a result differs from what the host gives")
			return 1
		}
		walls, rssMax = append(walls, rep.WallSeconds), max(rssMax, rss)
		if !withRef {
			continue
		}
		serverCPU = f.serverCPU()
		ref, err := runReference(f, job, noSSH, noHTTPS)
		if err != nil {
			fmt.Fprintln(os.Stderr, "reference:", err)
			return 1
		}
		serverCPU = f.serverCPU() - serverCPU
		fmt.Printf("%s, run %d: reference: ssh-keyscan %.2fs (CPU %.2fs) + curl --parallel-max 64 %.2fs (CPU %.2fs), sshd and Caddy CPU %.2fs; every key and every 401 seen\n",
			serverName(job.SSHPort), r, ref.keyscan.Seconds(), ref.keyscanCPU.Seconds(), ref.curl.Seconds(), ref.curlCPU.Seconds(), serverCPU.Seconds())
	}
	fmt.Printf("%s, %d VMs at once, %d runs, every result right: sweep median %.2fs, worst %.2fs; peak RSS at most %d MiB (targets: 2 s, 60 MB)\n",
		serverName(job.SSHPort), workers, runs, median(walls), slices.Max(walls), rssMax/1024)
	return 0
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

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// serverName names the SSH server on port for the report.
func serverName(port int) string {
	if port == goSSHPort {
		return "one-process SSH server (x/crypto/ssh)"
	}
	return "OpenSSH sshd"
}
