package testvm

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// hostKey is a VM host key as the bot would put it into user-data.
type hostKey struct {
	pem string
	pub ssh.PublicKey
}

func newHostKey(t *testing.T) hostKey {
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
	return hostKey{pem: string(pem.EncodeToMemory(block)), pub: sshPub}
}

func newClientKey(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

func authorized(pub ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
}

// userData renders a #cloud-config like the bot's: user cicf with the given
// keys and passwordless sudo, the pinned host key, a written file and an
// sshd drop-in, then extra (more top-level keys, e.g. runcmd).
func userData(name string, host hostKey, extra string, keys ...ssh.PublicKey) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "#cloud-config\nhostname: %s\nfqdn: %s.cicf.cloud\nssh_pwauth: false\n", name, name)
	b.WriteString("users:\n  - name: cicf\n    gecos: CICF student\n    groups: [sudo, docker]\n    shell: /bin/bash\n    sudo: ALL=(ALL) NOPASSWD:ALL\n    lock_passwd: true\n    ssh_authorized_keys:\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "      - %s\n", authorized(k))
	}
	b.WriteString("ssh_keys:\n  ed25519_private: |\n")
	for line := range strings.Lines(host.pem) {
		b.WriteString("    " + line)
	}
	fmt.Fprintf(&b, "  ed25519_public: %s\n", authorized(host.pub))
	b.WriteString(`write_files:
  - path: /etc/cicf/motd
    content: aGVsbG8K
    encoding: b64
    owner: cicf:cicf
    permissions: '0640'
  - path: /etc/ssh/sshd_config.d/50-cicf.conf
    content: |
      PermitRootLogin no
      HostKey /etc/ssh/ssh_host_ed25519_key
`)
	b.WriteString(extra)
	return []byte(b.String())
}

// dialVM connects as cicf, accepting only the pinned host key.
func dialVM(t *testing.T, vm *VM, pinned ssh.PublicKey, client ssh.Signer) (*ssh.Client, error) {
	t.Helper()
	return ssh.Dial("tcp", vm.Addr(), &ssh.ClientConfig{
		User:              "cicf",
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(client)},
		HostKeyCallback:   ssh.FixedHostKey(pinned),
		HostKeyAlgorithms: []string{pinned.Type()},
	})
}

func sshRun(c *ssh.Client, cmd string) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	var stderr bytes.Buffer
	s.Stderr = &stderr
	out, err := s.Output(cmd)
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", cmd, err, stderr.Bytes())
	}
	return string(out), nil
}

func mustRun(t *testing.T, c *ssh.Client, cmd string) string {
	t.Helper()
	out, err := sshRun(c, cmd)
	if err != nil {
		t.Fatalf("run %v", err)
	}
	return out
}

func mustExec(t *testing.T, vm *VM, args ...string) string {
	t.Helper()
	out, err := vm.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestTwoVMs(t *testing.T) {
	client := newClientKey(t)
	vms := []struct {
		name, runcmd string
		status       string   // what cloud-init status --wait prints
		runcmdRecs   []string // what runcmd left in Records
		vm           *VM
		host         hostKey
	}{
		{name: "emma", runcmd: `runcmd:
  - [ufw, default, deny, incoming]
  - [ufw, allow, 22/tcp]
  - [ufw, --force, enable]
  - [install, -d, -o, cicf, -g, cicf, -m, "0755", /opt/jupyter, /opt/jupyter/work]
  - echo "it's $(hostname -f)" > /etc/cicf/runcmd
`, status: "status: done\n", runcmdRecs: []string{"ufw default deny incoming", "ufw allow 22/tcp", "ufw --force enable"}},
		{name: "noah", runcmd: "runcmd:\n  - [docker, info]\n  - [\"false\"]\n", status: "status: error\n", runcmdRecs: []string{"docker info"}},
	}
	for i := range vms {
		vms[i].host = newHostKey(t)
		vms[i].vm = Start(t, 241+i, userData(vms[i].name, vms[i].host, vms[i].runcmd, client.PublicKey()))
	}

	for i, r := range vms {
		t.Run(r.name, func(t *testing.T) {
			c, err := dialVM(t, r.vm, r.host.pub, client)
			if err != nil {
				t.Fatalf("ssh cicf@%s with the pinned key: %v", r.vm.Addr(), err)
			}
			defer c.Close()

			status, err := sshRun(c, "cloud-init status --wait")
			if status != r.status || (err != nil) != (r.status == "status: error\n") {
				t.Errorf("cloud-init status --wait = %q, %v, want %q", status, err, r.status)
			}
			checks := []struct{ cmd, want string }{
				{"id -un", "cicf\n"},
				{"hostname", r.name + "\n"},
				{"hostname -f", r.name + ".cicf.cloud\n"},
				{"sudo -n id -un", "root\n"},
				{"sudo -n true 2>&1", ""}, // no warnings either (host name, tty)
				{"docker compose up -d", ""},
				{"sudo ufw allow 80/tcp", "Rules updated\n"},
				{"cat /etc/cicf/motd", "hello\n"},
			}
			for _, c2 := range checks {
				if got := mustRun(t, c, c2.cmd); got != c2.want {
					t.Errorf("%s = %q, want %q", c2.cmd, got, c2.want)
				}
			}
			if status := mustRun(t, c, "sudo ufw status"); !strings.Contains(status, "Status: active") || !strings.Contains(status, "443/tcp                    ALLOW       Anywhere") {
				t.Errorf("ufw status = %q, want active with 443/tcp allowed", status)
			}
			if _, err := sshRun(c, "ufw status"); err == nil {
				t.Error("ufw without sudo succeeded, want the real ufw's refusal")
			}

			want := append(r.runcmdRecs, "cloud-init status --wait", "docker compose up -d", "ufw allow 80/tcp", "ufw status", "ufw status")
			if got := r.vm.Records(); !slices.Equal(got, want) {
				t.Errorf("Records() = %q, want %q", got, want)
			}

			files := []struct {
				args []string
				want string
			}{
				{[]string{"cat", "/home/cicf/.ssh/authorized_keys"}, authorized(client.PublicKey()) + "\n"},
				{[]string{"stat", "-c", "%U:%G %a", "/home/cicf", "/home/cicf/.ssh", "/home/cicf/.ssh/authorized_keys", "/etc/cicf/motd"}, "cicf:cicf 755\ncicf:cicf 700\ncicf:cicf 600\ncicf:cicf 640\n"},
				// cloud-init's ssh_deletekeys: only the user-data's host key.
				{[]string{"sh", "-c", "ls /etc/ssh | grep ^ssh_host_"}, "ssh_host_ed25519_key\nssh_host_ed25519_key.pub\n"},
			}
			for _, f := range files {
				if got := mustExec(t, r.vm, f.args...); got != f.want {
					t.Errorf("VM: %s = %q, want %q", strings.Join(f.args, " "), got, f.want)
				}
			}
			if groups := strings.Fields(mustExec(t, r.vm, "id", "-nG", "cicf")); !slices.Contains(groups, "sudo") || !slices.Contains(groups, "docker") {
				t.Errorf("VM: cicf's groups = %q, want sudo and docker among them", groups)
			}
			// The VM reaches its own /24 and nothing else.
			route := strings.Fields(mustExec(t, r.vm, "ip", "-4", "-o", "route"))
			subnet := fmt.Sprintf("198.18.%d.0/24", 241+i)
			if want := strings.Fields(subnet + " dev eth0 proto kernel scope link src " + r.vm.IP()); !slices.Equal(route, want) {
				t.Errorf("VM: ip route = %q, want %q", route, want)
			}
		})
	}

	// runcmd ran as root, with the user-data's sshd drop-in in force.
	emma := vms[0].vm
	if got, want := mustExec(t, emma, "stat", "-c", "%U:%G %a", "/opt/jupyter", "/opt/jupyter/work"), "cicf:cicf 755\ncicf:cicf 755\n"; got != want {
		t.Errorf("emma: runcmd's install -d left %q, want %q", got, want)
	}
	if got, want := mustExec(t, emma, "cat", "/etc/cicf/runcmd"), "it's emma.cicf.cloud\n"; got != want {
		t.Errorf("emma: runcmd's echo wrote %q, want %q", got, want)
	}
	if got := mustExec(t, emma, "/usr/sbin/sshd", "-T"); !strings.Contains(got, "\npermitrootlogin no\n") {
		t.Errorf("emma: sshd -T does not show the drop-in's PermitRootLogin no:\n%s", got)
	}

	// Only loopback and the VMs' links: once stopped, nothing remains.
	for _, r := range vms {
		r.vm.Stop()
		r.vm.Stop() // idempotent
		netns, _ := exec.Command("ip", "netns", "list").Output()
		links, _ := exec.Command("ip", "-o", "link", "show").Output()
		if strings.Contains(string(netns), r.vm.Namespace()) {
			t.Errorf("namespace %s remains after Stop:\n%s", r.vm.Namespace(), netns)
		}
		if strings.Contains(string(links), r.vm.net.hostLink) {
			t.Errorf("link %s remains after Stop:\n%s", r.vm.net.hostLink, links)
		}
	}
}

// TestHostKeyRotation rotates the host key as provisioning does: new key
// file with sudo, systemctl reload ssh (the stand-in checks the config and
// sends sshd SIGHUP).
func TestHostKeyRotation(t *testing.T) {
	client := newClientKey(t)
	old, next := newHostKey(t), newHostKey(t)
	vm := Start(t, 243, userData("emma", old, "", client.PublicKey()))
	c, err := dialVM(t, vm, old.pub, client)
	if err != nil {
		t.Fatalf("dial with the first key: %v", err)
	}
	defer c.Close()

	install := func(key string) (string, error) {
		return sshRun(c, "printf '%s' '"+key+"' | sudo tee /etc/ssh/ssh_host_ed25519_key >/dev/null && sudo systemctl reload ssh")
	}
	if _, err := install("not a key\n"); err == nil {
		t.Error("reload with a broken host key succeeded, want sshd -t to refuse it")
	}
	if _, err := install(next.pem); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if c2, err := dialVM(t, vm, old.pub, client); err == nil {
		c2.Close()
		t.Error("dial with the old key after rotation succeeded")
	}
	c3, err := dialVM(t, vm, next.pub, client)
	if err != nil {
		t.Fatalf("dial with the new key: %v", err)
	}
	defer c3.Close()
	if got := mustRun(t, c3, "sudo cloud-init query userdata"); !strings.Contains(got, authorized(old.pub)) {
		t.Errorf("cloud-init query userdata = %q, want the user-data with the first key", got)
	}
	if got, want := vm.Records(), []string{"systemctl reload ssh", "systemctl reload ssh", "cloud-init query userdata"}; !slices.Equal(got, want) {
		t.Errorf("Records() = %q, want %q", got, want)
	}
}

// TestStartRemovesStale: a test process killed mid-test leaves its
// namespace and veth behind; the next Start with that index removes them.
func TestStartRemovesStale(t *testing.T) {
	const index = 244
	staleNS, staleLink := fmt.Sprintf("cicf-vm%d-999999999", index), fmt.Sprintf("cicf%dhdead", index)
	for _, args := range [][]string{
		{"netns", "add", staleNS},
		{"link", "add", staleLink, "type", "veth", "peer", "name", "eth0", "netns", staleNS},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v %s", strings.Join(args, " "), err, out)
		}
	}
	client := newClientKey(t)
	vm := Start(t, index, userData("emma", newHostKey(t), "", client.PublicKey()))
	netns, _ := exec.Command("ip", "netns", "list").Output()
	links, _ := exec.Command("ip", "-o", "link", "show").Output()
	if strings.Contains(string(netns), staleNS) || strings.Contains(string(links), staleLink) {
		t.Errorf("stale %s or %s remains after Start", staleNS, staleLink)
	}
	if !strings.Contains(string(netns), vm.Namespace()) {
		t.Errorf("VM namespace %s missing from ip netns list", vm.Namespace())
	}
}
