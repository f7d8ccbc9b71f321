package testvm

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// keysIn returns the keys (type and base64) of an authorized_keys file.
func keysIn(t *testing.T, file string) []string {
	t.Helper()
	var keys []string
	rest := []byte(file)
	for len(bytes.TrimSpace(rest)) > 0 {
		pub, _, _, r, err := ssh.ParseAuthorizedKey(rest)
		if err != nil {
			t.Fatalf("authorized_keys: %v\n%s", err, file)
		}
		keys, rest = append(keys, authorized(pub)), r
	}
	return keys
}

// gpgFingerprint has the real gpg read an armored key and returns its
// primary key's fingerprint.
func gpgFingerprint(t *testing.T, armored string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "key.asc")
	if err := os.WriteFile(file, []byte(armored), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("gpg", "--batch", "--homedir", t.TempDir(), "--with-colons", "--show-keys", file)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg --show-keys (install gnupg): %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" {
			return f[9]
		}
	}
	return ""
}

// listenerScript listens on each port given, in the VM's network
// namespace, prints "ready" and accepts connections until killed.
const listenerScript = `import socket, sys, threading
socks = []
for p in sys.argv[1:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(p)))
    s.listen(16)
    socks.append(s)
print("ready", flush=True)
def serve(s):
    while True:
        s.accept()[0].close()
for s in socks:
    threading.Thread(target=serve, args=(s,), daemon=True).start()
threading.Event().wait()
`

// checkFirewall reads the real ufw's rules, then connects from this machine
// (outside the VM) to listeners inside it: 80 and 443 answer, 8888 does not,
// though it answers inside the VM.
func checkFirewall(t *testing.T, vm *VM) {
	t.Helper()
	status := mustExec(t, vm, "ufw", "status")
	if !strings.HasPrefix(status, "Status: active\n") {
		t.Fatalf("ufw status = %q, want active", status)
	}
	var allowed []string
	for _, line := range strings.Split(status, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[1] == "ALLOW" {
			allowed = append(allowed, f[0])
		}
	}
	if want := "22/tcp 80/tcp 443/tcp"; strings.Join(allowed, " ") != want {
		t.Errorf("ufw allows %q, want %s (v4; v6 rules aside)", allowed, want)
	}
	if !strings.Contains(mustExec(t, vm, "ufw", "status", "verbose"), "Default: deny (incoming)") {
		t.Error("ufw's incoming default is not deny")
	}

	cmd := exec.Command("ip", "netns", "exec", vm.Namespace(), "python3", "-c", listenerScript, "80", "443", "8888")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start listeners: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		t.Fatalf("listeners did not start: %q", line)
	}
	if _, err := vm.Exec("python3", "-c", "import socket; socket.create_connection(('127.0.0.1', 8888), 5)"); err != nil {
		t.Fatalf("the 8888 listener does not answer inside the VM: %v", err)
	}
	for port, open := range map[string]bool{"22": true, "80": true, "443": true, "8888": false} {
		// The timeout bounds a DROP, which never answers; it is not what
		// the test measures.
		c, err := net.DialTimeout("tcp", net.JoinHostPort(vm.IP(), port), 3*time.Second)
		if err == nil {
			c.Close()
		}
		if (err == nil) != open {
			t.Errorf("connect to %s:%s from outside: %v, want open=%v", vm.IP(), port, err, open)
		}
	}
}

// checkStudentSSH runs the real ssh client as a student would, with only the
// known_hosts line the bot hands out and StrictHostKeyChecking yes.
func checkStudentSSH(t *testing.T, vm *VM, hostPub ssh.PublicKey, student studentKey) {
	t.Helper()
	bin, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatalf("install openssh-client: %v", err)
	}
	dir := t.TempDir()
	knownHosts := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(knownHosts, []byte("emma.cicf.cloud "+authorized(hostPub)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other_known_hosts")
	if err := os.WriteFile(other, []byte("emma.cicf.cloud "+authorized(newHostKey(t).pub)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sshTo := func(kh, user string, extra ...string) (string, string, error) {
		args := append([]string{"-F", "/dev/null", "-o", "UserKnownHostsFile=" + kh, "-o", "GlobalKnownHostsFile=/dev/null",
			"-o", "StrictHostKeyChecking=yes", "-o", "HostKeyAlias=emma.cicf.cloud", "-o", "BatchMode=yes",
			"-o", "IdentitiesOnly=yes", "-i", student.file, "-o", "ConnectTimeout=10"}, extra...)
		cmd := exec.Command(bin, append(args, user+"@"+vm.IP(), "id -un")...)
		cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	if out, stderr, err := sshTo(knownHosts, "cicf"); err != nil || out != "cicf\n" {
		t.Errorf("ssh cicf@VM = %q, %v, want cicf\n%s", out, err, stderr)
	}
	if _, stderr, err := sshTo(other, "cicf"); err == nil || !strings.Contains(stderr, "Host key verification failed") {
		t.Errorf("ssh with another host key pinned: %v, want host key verification to fail\n%s", err, stderr)
	}
	if _, stderr, err := sshTo(knownHosts, "root"); err == nil || !strings.Contains(stderr, "Permission denied") {
		t.Errorf("ssh root@VM with the student's key: %v, want refused\n%s", err, stderr)
	}
	// sshd offers publickey only: a password is never asked for.
	if _, stderr, err := sshTo(knownHosts, "cicf", "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive"); err == nil ||
		!strings.Contains(stderr, "Permission denied (publickey)") {
		t.Errorf("ssh with a password: %v, want Permission denied (publickey)\n%s", err, stderr)
	}
}
