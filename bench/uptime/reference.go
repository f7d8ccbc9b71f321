package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// reference is what an instructor would run by hand against the same
// hosts: ssh-keyscan for the host keys (a key exchange, no login), then
// curl over every VM's HTTPS, 64 at once. It shows what the servers alone
// cost here; each answer is checked.
type reference struct {
	keyscan, curl       time.Duration
	keyscanCPU, curlCPU time.Duration
}

func runReference(f *fleet, job sweepJob, noSSH, noHTTPS map[string]bool) (reference, error) {
	var hosts, cfg strings.Builder
	for _, vm := range job.VMs {
		fqdn := vm.Name + "." + job.Domain
		fmt.Fprintln(&hosts, vm.IPv4)
		fmt.Fprintf(&cfg, "url = \"https://%s/\"\nresolve = \"%s:443:%s\"\noutput = \"/dev/null\"\n", fqdn, fqdn, vm.IPv4)
	}
	hostsFile, curlCfg := filepath.Join(job.Dir, "hosts.txt"), filepath.Join(job.Dir, "curl.cfg")
	if err := os.WriteFile(hostsFile, []byte(hosts.String()), 0o644); err != nil {
		return reference{}, err
	}
	if err := os.WriteFile(curlCfg, []byte(cfg.String()), 0o644); err != nil {
		return reference{}, err
	}
	var ref reference
	start := time.Now()
	ks := exec.Command("ssh-keyscan", "-T", "5", "-p", strconv.Itoa(job.SSHPort), "-t", "ed25519", "-f", hostsFile)
	out, err := ks.Output()
	ref.keyscan = time.Since(start)
	if err != nil {
		return ref, fmt.Errorf("ssh-keyscan: %v", err)
	}
	ref.keyscanCPU = ks.ProcessState.UserTime() + ks.ProcessState.SystemTime()
	keys := 0
	for line := range strings.Lines(string(out)) {
		// With a port other than 22 the host is written [ADDR]:PORT.
		if fs := strings.Fields(line); len(fs) == 3 && fs[1]+" "+fs[2] == f.hostPub {
			keys++
		}
	}
	if want := len(job.VMs) - len(noSSH); keys != want {
		return ref, fmt.Errorf("ssh-keyscan found the host key on %d hosts, want %d", keys, want)
	}
	start = time.Now()
	cu := exec.Command("curl", "-s", "--parallel", "--parallel-max", "64", "--cacert", f.caFile, "-w", "%{http_code}\n", "-K", curlCfg)
	cu.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, _ = cu.Output() // curl exits non-zero when some hosts refuse: counted below
	ref.curl = time.Since(start)
	ref.curlCPU = cu.ProcessState.UserTime() + cu.ProcessState.SystemTime()
	if n, want := strings.Count(string(out), "401\n"), len(job.VMs)-len(noHTTPS); n != want {
		return ref, fmt.Errorf("curl got 401 from %d hosts, want %d", n, want)
	}
	return ref, nil
}
