package probe

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/internal/testvm"
)

// TestOpenPortsVM scans a test VM (index 72, in this package's range
// 70..99) whose firewall drops one port, so that the scanner meets open
// (sshd), closed (RST) and filtered (no answer) ports as on a droplet,
// with nmap as the oracle.
func TestOpenPortsVM(t *testing.T) {
	if _, err := exec.LookPath("nmap"); err != nil {
		t.Fatalf("nmap: %v: install nmap", err)
	}
	vm := testvm.Start(t, 72, testvm.UserData(vmHostKey(t)))
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
	out, err := exec.Command("nmap", "-sT", "-Pn", "-n", "-p", strings.Join(list, ","), vm.IP(), "-oG", "-").Output()
	if err != nil {
		t.Fatalf("nmap: %v", err)
	}
	if !strings.Contains(string(out), "81/filtered/tcp") {
		t.Fatalf("nmap does not see port 81 as filtered, the test's firewall is not in place:\n%s", out)
	}
	if want := nmapOpen(t, string(out)); !slices.Equal(got, want) {
		t.Errorf("OpenPorts(%s) = %v, nmap says %v", vm.IP(), got, want)
	}
	if want := []int{22}; !slices.Equal(got, want) {
		t.Errorf("OpenPorts(%s) = %v, want %v", vm.IP(), got, want)
	}
}

func vmHostKey(t *testing.T) (privatePEM, public string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, _ := ssh.NewPublicKey(pub)
	return string(pem.EncodeToMemory(block)), string(ssh.MarshalAuthorizedKey(sshPub))
}
