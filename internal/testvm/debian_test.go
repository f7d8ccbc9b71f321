package testvm

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/deploy"
)

// studentKey is a key pair whose private half the real ssh client reads.
type studentKey struct {
	pub  ssh.PublicKey
	file string
}

func newStudentKey(t *testing.T) studentKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, _ := ssh.NewPublicKey(pub)
	return studentKey{pub: sshPub, file: file}
}

// botUserData is the bot's own user-data for emma, from deploy.
func botUserData(t *testing.T, host hostKey, student, bot ssh.PublicKey) []byte {
	t.Helper()
	ud, err := deploy.RenderUserData(deploy.UserDataParams{
		Name: "emma", FQDN: "emma.cicf.cloud", StudentKey: authorized(student) + " emma@laptop", BotKey: authorized(bot) + " cicf-bot",
		HostKeyPrivate: host.pem, HostKeyPublic: authorized(host.pub),
	})
	if err != nil {
		t.Fatal(err)
	}
	return ud
}

// cloudInitResult is /run/cloud-init/result.json.
type cloudInitResult struct {
	V1 struct {
		Errors []string `json:"errors"`
	} `json:"v1"`
}

func resultErrors(t *testing.T, vm *VM) []string {
	t.Helper()
	var res cloudInitResult
	if err := json.Unmarshal([]byte(mustExec(t, vm, "cat", "/run/cloud-init/result.json")), &res); err != nil {
		t.Fatalf("result.json: %v", err)
	}
	return res.V1.Errors
}

// TestDebianFirstBoot runs the bot's user-data through the real cloud-init
// on a real Debian 12 root (issue 9) and checks the result with the real
// tools: cloud-init's status, sshd -T, ufw and a real connect, gpg, getent,
// and the student's real ssh client.
func TestDebianFirstBoot(t *testing.T) {
	host, student, bot := newHostKey(t), newStudentKey(t), newClientKey(t)
	start := time.Now()
	vm := StartDebian(t, 50, botUserData(t, host, student.pub, bot.PublicKey()), DebianOptions{})
	t.Logf("Debian VM booted with cloud-init in %v", time.Since(start).Round(100*time.Millisecond))

	t.Run("cloud-init done without errors", func(t *testing.T) {
		out := mustExec(t, vm, "cloud-init", "status", "--long")
		if first, _, _ := strings.Cut(out, "\n"); first != "status: done" {
			t.Errorf("cloud-init status --long = %q, want status: done", out)
		}
		if errs := resultErrors(t, vm); len(errs) != 0 {
			t.Errorf("result.json errors = %q, want none", errs)
		}
	})
	t.Run("only the student's and the bot's keys", func(t *testing.T) {
		got := keysIn(t, mustExec(t, vm, "cat", "/home/cicf/.ssh/authorized_keys"))
		want := []string{authorized(student.pub), authorized(bot.PublicKey())}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("cicf's authorized keys = %q, want %q", got, want)
		}
	})
	t.Run("the pinned host key is the only one", func(t *testing.T) {
		files := strings.Fields(mustExec(t, vm, "sh", "-c", "ls /etc/ssh/ssh_host_*"))
		if want := []string{"/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_ed25519_key.pub"}; !slices.Equal(files, want) {
			t.Errorf("host key files = %q, want %q", files, want)
		}
		pub := mustExec(t, vm, "cat", "/etc/ssh/ssh_host_ed25519_key.pub")
		if want := authorized(host.pub) + "\n"; pub != want {
			t.Errorf("ssh_host_ed25519_key.pub = %q, want %q (with its newline)", pub, want)
		}
		derived := mustExec(t, vm, "ssh-keygen", "-y", "-f", "/etc/ssh/ssh_host_ed25519_key")
		if strings.Fields(derived)[1] != strings.Fields(authorized(host.pub))[1] {
			t.Errorf("the private host key's public half is %q, want the pinned %q", derived, authorized(host.pub))
		}
	})
	t.Run("sshd -T: key-only, no root", func(t *testing.T) {
		cfg := map[string][]string{}
		for _, line := range strings.Split(mustExec(t, vm, "/usr/sbin/sshd", "-T"), "\n") {
			if k, v, ok := strings.Cut(line, " "); ok {
				cfg[k] = append(cfg[k], v)
			}
		}
		for k, want := range map[string][]string{
			"passwordauthentication": {"no"}, "kbdinteractiveauthentication": {"no"}, "permitrootlogin": {"no"},
			"pubkeyauthentication": {"yes"}, "hostkey": {"/etc/ssh/ssh_host_ed25519_key"},
		} {
			if !slices.Equal(cfg[k], want) {
				t.Errorf("sshd -T %s = %q, want %q", k, cfg[k], want)
			}
		}
	})
	t.Run("docker group is a system group, with cicf", func(t *testing.T) {
		f := strings.Split(strings.TrimSpace(mustExec(t, vm, "getent", "group", "docker")), ":")
		gid, _ := strconv.Atoi(f[2])
		if len(f) != 4 || gid <= 0 || gid >= 1000 || !slices.Contains(strings.Split(f[3], ","), "cicf") {
			t.Errorf("getent group docker = %q, want a system gid (<1000) with member cicf", f)
		}
	})
	t.Run("Docker's key as the user-data wrote it", func(t *testing.T) {
		key := mustExec(t, vm, "cat", "/etc/apt/keyrings/docker.asc")
		if fpr := gpgFingerprint(t, key); fpr != "9DC858229FC7DD38854AE2D88D81803C0EBFCD88" {
			t.Errorf("/etc/apt/keyrings/docker.asc has fingerprint %q, want Docker's", fpr)
		}
	})
	t.Run("ufw: only 22, 80, 443 reachable", func(t *testing.T) {
		checkFirewall(t, vm)
	})
	t.Run("the student's ssh with only the handed-out known_hosts line", func(t *testing.T) {
		checkStudentSSH(t, vm, host.pub, student)
	})
}

// TestDebianFirstBootDockerDown boots with Docker's repository unreachable:
// the firewall, set up first, is up anyway, and cloud-init reports the
// failure with the module that failed, which is what the bot's waitSSH
// reads to stop the run.
func TestDebianFirstBootDockerDown(t *testing.T) {
	host, student, bot := newHostKey(t), newStudentKey(t), newClientKey(t)
	vm := StartDebian(t, 51, botUserData(t, host, student.pub, bot.PublicKey()), DebianOptions{DockerDown: true})
	out, err := vm.Exec("cloud-init", "status", "--long")
	if err == nil || !strings.HasPrefix(string(out), "status: error\n") {
		t.Errorf("cloud-init status --long = %q, %v; want status: error and a failing exit", out, err)
	}
	if !strings.Contains(string(out), "('scripts-user', ") {
		t.Errorf("cloud-init status --long does not name the scripts-user module:\n%s\nresult.json errors: %q", out, resultErrors(t, vm))
	}
	if errs := resultErrors(t, vm); len(errs) == 0 {
		t.Error("result.json lists no error")
	}
	if status := mustExec(t, vm, "ufw", "status"); !strings.HasPrefix(status, "Status: active\n") {
		t.Errorf("ufw status = %q, want active: the firewall comes before Docker", status)
	}
	if _, err := vm.Exec("getent", "group", "docker"); err == nil {
		t.Error("a docker group exists although Docker was never installed")
	}
}

// TestDebianFirstBootNoFirewall boots where ufw cannot be had: the firewall
// script fails the boot loudly, and nothing after it (Docker) runs.
func TestDebianFirstBootNoFirewall(t *testing.T) {
	host, student, bot := newHostKey(t), newStudentKey(t), newClientKey(t)
	vm := StartDebian(t, 52, botUserData(t, host, student.pub, bot.PublicKey()), DebianOptions{NoUFW: true})
	out, err := vm.Exec("cloud-init", "status", "--long")
	if err == nil || !strings.HasPrefix(string(out), "status: error\n") || !strings.Contains(string(out), "('scripts-user', ") {
		t.Errorf("cloud-init status --long = %q, %v; want an error in scripts-user", out, err)
	}
	log := mustExec(t, vm, "cat", "/var/log/cloud-init-output.log")
	if !strings.Contains(log, "cicf-firewall: ufw is not installed") {
		t.Errorf("cloud-init-output.log does not say ufw is missing:\n%s", log)
	}
	if _, err := vm.Exec("getent", "group", "docker"); err == nil {
		t.Error("Docker was installed on a VM without a firewall")
	}
}
