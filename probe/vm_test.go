package probe

import (
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/nmapxml"
	"github.com/cicf/cicf-bot/internal/testvm"
	"github.com/cicf/cicf-bot/tasks"
)

// TestOpenPortsVM scans a test VM (index 72, in this package's range
// 70..99) whose firewall drops one port, so that the scanner meets open
// (sshd), closed (RST) and filtered (no answer) ports as on a droplet,
// with nmap as the oracle.
func TestOpenPortsVM(t *testing.T) {
	if _, err := exec.LookPath("nmap"); err != nil {
		t.Fatalf("nmap: %v: install nmap", err)
	}
	hostPEM, hostPub, err := tasks.NewHostKey()
	if err != nil {
		t.Fatal(err)
	}
	vm := testvm.Start(t, 72, testvm.UserData(hostPEM, hostPub))
	rules := "add table inet cicf { chain input { type filter hook input priority 0; policy accept; tcp dport 81 drop; }; }"
	if out, err := vm.Exec("nft", rules); err != nil {
		t.Fatalf("nft in the VM: %v %s: install nftables", err, out)
	}
	ports := []int{22, 80, 81, 443, 8888}

	p := &Prober{}
	got, err := p.OpenPorts(context.Background(), vm.IP(), ports, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	list := make([]string, len(ports))
	for i, port := range ports {
		list[i] = strconv.Itoa(port)
	}
	out := runNmap(t, []string{vm.IP()}, "-p", strings.Join(list, ","))
	states, err := nmapxml.PortStates(out)
	if err != nil {
		t.Fatal(err)
	}
	if states[vm.IP()][81] != "filtered" {
		t.Fatalf("nmap does not see port 81 as filtered, the test's firewall is not in place:\n%s", out)
	}
	open, err := nmapxml.OpenPorts(out)
	if err != nil {
		t.Fatal(err)
	}
	if want := open[vm.IP()]; !slices.Equal(got, want) {
		t.Errorf("OpenPorts(%s) = %v, nmap says %v", vm.IP(), got, want)
	}
	if want := []int{22}; !slices.Equal(got, want) {
		t.Errorf("OpenPorts(%s) = %v, want %v", vm.IP(), got, want)
	}
}
