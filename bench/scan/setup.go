package main

import (
	"bufio"
	"fmt"
	"os/exec"
	"strings"
)

// setup makes the namespace with n addresses, its DROP policy with a few
// allowed ports, and the listeners; stop ends the listeners.
func setup(n int) (addrs []string, stop func(), err error) {
	// Every 10th host allows 22, 80 and 443; every 7th allows 8080. All
	// hosts listen on 22, 80, 443, 8080 and 9999 (one namespace), so the
	// dropped listeners are strays the scan must not report.
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
		{"ip", "addr", "add", "198.19.0.1/18", "dev", link},
		{"ip", "link", "set", link, "up"},
		{"ip", "-n", ns, "link", "set", "eth0", "up"},
		{"ip", "-n", ns, "link", "set", "lo", "up"},
	}
	for _, a := range addrs {
		steps = append(steps, []string{"ip", "-n", ns, "addr", "add", a + "/18", "dev", "eth0"})
	}
	for _, s := range steps {
		if err := sh(s...); err != nil {
			return nil, nil, err
		}
	}
	rules := "table inet f {\n chain in {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  iif lo accept\n  " +
		strings.Join(allow, "\n  ") + "\n }\n}\n"
	nft := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	nft.Stdin = strings.NewReader(rules)
	if out, err := nft.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("nft: %v: %s", err, out)
	}
	// The listeners accept and close, so repeated runs never fill a queue.
	py := exec.Command("ip", "netns", "exec", ns, "python3", "-c", `
import socket, sys, threading
def serve(s):
    while True:
        c, _ = s.accept(); c.close()
for p in (22, 80, 443, 8080, 9999):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", p)); s.listen(1024)
    threading.Thread(target=serve, args=(s,), daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
`)
	stdin, _ := py.StdinPipe()
	stdout, _ := py.StdoutPipe()
	if err := py.Start(); err != nil {
		return nil, nil, err
	}
	stop = func() { stdin.Close(); py.Process.Kill(); py.Wait() }
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		return nil, stop, fmt.Errorf("listeners did not start: %q %v", line, err)
	}
	return addrs, stop, nil
}
