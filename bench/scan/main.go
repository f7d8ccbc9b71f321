// Command scan benchmarks probe.Scanner against nmap -sT -Pn -T4 on the
// same namespace hosts in the same run: 100 addresses (198.19.1.1..N) in
// one network namespace, nftables policy DROP, a few allowed listeners on
// some hosts. The open ports must be identical, or it exits 1. It deletes
// the namespace and link it made, also on failure.
//
//	go run ./bench/scan -hosts 100
package main

import (
	"context"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cicf/cicf-bot/probe"
)

const ns, link = "cicfscanbench", "cscanbench"

func main() {
	hosts := flag.Int("hosts", 100, "namespace hosts (1..250), 198.19.1.1..N")
	sockets := flag.Int("sockets", 2000, "Scanner.MaxSockets")
	flag.Parse()
	// A signal still removes the namespace, its link and the listeners.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		if out, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
			for _, f := range strings.Fields(string(out)) {
				if pid, err := strconv.Atoi(f); err == nil {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		cleanup()
		os.Exit(1)
	}()
	code := bench(*hosts, *sockets)
	os.Exit(code)
}

func sh(args ...string) error {
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%q: %v: %s", args, err, out)
	}
	return nil
}

func cleanup() {
	exec.Command("ip", "netns", "del", ns).Run()
	exec.Command("ip", "link", "del", link).Run()
}

func bench(n, sockets int) int {
	if n < 1 || n > 250 {
		fmt.Fprintln(os.Stderr, "-hosts must be 1..250")
		return 2
	}
	cleanup()
	defer cleanup()
	var addrs []string
	// Every 10th host has listeners allowed on 22, 80 and 443; all hosts
	// listen on 8080 and 9999, which the firewall drops except on every
	// 7th host, where 8080 is allowed.
	var allow []string
	for i := 1; i <= n; i++ {
		a := fmt.Sprintf("198.19.1.%d", i)
		addrs = append(addrs, a)
		if i%10 == 0 {
			allow = append(allow, fmt.Sprintf("ip daddr %s tcp dport { 22, 80, 443 } accept", a))
		}
		if i%7 == 0 {
			allow = append(allow, fmt.Sprintf("ip daddr %s tcp dport 8080 accept", a))
		}
	}
	steps := [][]string{
		{"ip", "netns", "add", ns},
		{"ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"ip", "addr", "add", "198.19.0.1/17", "dev", link},
		{"ip", "link", "set", link, "up"},
		{"ip", "-n", ns, "link", "set", "eth0", "up"},
		{"ip", "-n", ns, "link", "set", "lo", "up"},
	}
	for _, a := range addrs {
		steps = append(steps, []string{"ip", "-n", ns, "addr", "add", a + "/17", "dev", "eth0"})
	}
	for _, s := range steps {
		if err := sh(s...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	rules := "table inet f {\n chain in {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  iif lo accept\n  " +
		strings.Join(allow, "\n  ") + "\n }\n}\n"
	nft := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	nft.Stdin = strings.NewReader(rules)
	if out, err := nft.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "nft: %v: %s\n", err, out)
		return 1
	}
	py := exec.Command("ip", "netns", "exec", ns, "python3", "-c", `
import socket, sys
ss = []
for p in (22, 80, 443, 8080, 9999):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", p)); s.listen(1024); ss.append(s)
print("ready", flush=True)
sys.stdin.read()
`)
	stdin, _ := py.StdinPipe()
	stdout, _ := py.StdoutPipe()
	if err := py.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { stdin.Close(); py.Process.Kill(); py.Wait() }()
	buf := make([]byte, 6)
	if _, err := stdout.Read(buf); err != nil || string(buf) != "ready\n" {
		fmt.Fprintln(os.Stderr, "listeners did not start")
		return 1
	}

	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	fmt.Fprintln(os.Stderr, "scanner running")
	start := time.Now()
	res, err := (&probe.Scanner{MaxSockets: sockets}).ScanPorts(context.Background(), addrs, nil)
	ours := time.Since(start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scanner:", err)
		return 1
	}
	var self syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)

	fmt.Fprintf(os.Stderr, "scanner took %.2fs; nmap running\n", ours.Seconds())
	start = time.Now()
	cmd := exec.Command("nmap", append([]string{"-sT", "-Pn", "-n", "-T4", "--top-ports", "1000", "-oX", "-"}, addrs...)...)
	out, err := cmd.Output()
	theirs := time.Since(start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nmap:", err)
		return 1
	}
	nmapRSS := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	want, err := parseNmap(out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mismatch, openCount := 0, 0
	for _, a := range addrs {
		openCount += len(want[a])
		if !slices.Equal(res[a], want[a]) {
			mismatch++
			fmt.Fprintf(os.Stderr, "MISMATCH %s: scanner %v, nmap %v\n", a, res[a], want[a])
		}
	}
	fmt.Printf("hosts=%d ports=1000 open=%d scanner=%.2fs (max %d sockets, peak RSS %d MiB) nmap=%.2fs (peak RSS %d MiB) ratio=%.1fx mismatches=%d\n",
		n, openCount, ours.Seconds(), sockets, self.Maxrss/1024, theirs.Seconds(), nmapRSS/1024, theirs.Seconds()/ours.Seconds(), mismatch)
	if mismatch > 0 || openCount == 0 {
		return 1
	}
	return 0
}

func parseNmap(out []byte) (map[string][]int, error) {
	var run struct {
		Hosts []struct {
			Addr struct {
				Addr string `xml:"addr,attr"`
			} `xml:"address"`
			Ports []struct {
				ID    string `xml:"portid,attr"`
				State struct {
					State string `xml:"state,attr"`
				} `xml:"state"`
			} `xml:"ports>port"`
		} `xml:"host"`
	}
	if err := xml.Unmarshal(out, &run); err != nil {
		return nil, err
	}
	got := map[string][]int{}
	for _, h := range run.Hosts {
		got[h.Addr.Addr] = []int{}
		for _, p := range h.Ports {
			if p.State.State == "open" {
				id, _ := strconv.Atoi(p.ID)
				got[h.Addr.Addr] = append(got[h.Addr.Addr], id)
			}
		}
		slices.Sort(got[h.Addr.Addr])
	}
	return got, nil
}
