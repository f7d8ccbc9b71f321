// Package testvm starts test "VMs" for cicf-bot's tests: network namespaces
// on 198.18.N.0/24 running the machine's real OpenSSH sshd in a private
// overlay of /, set up from cloud-init user-data the way a DigitalOcean
// droplet would be. Docker, ufw, systemd and cloud-init itself cannot run
// here; recording stand-ins take their place (see Records). It needs root,
// iproute2, util-linux, openssh-server and python3-yaml; without them Start
// fails the test rather than skipping it.
//
// StartDebian (debian.go) boots a real Debian 12 root instead, where the
// real cloud-init, ufw, apt and sudo run; only package fetches are served
// by local stand-ins.
package testvm

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const sshdPath = "/usr/sbin/sshd" // absolute: sshd re-executes itself on SIGHUP

// vmPath is the PATH of the boot script and of Exec; users logging in over
// SSH get sshd's own default, which also starts with /usr/local/bin.
const vmPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// bootScript runs as PID 1 of the VM's PID namespace, in its own mount and
// UTS namespaces inside the VM's network namespace.
const bootScript = `set -eu
upper=$1 work=$2 root=$3
# Nothing of the host's namespaces may stay alive through this VM's mounts.
umount -l /run/netns 2>/dev/null || for m in /run/netns/*; do umount -l "$m" 2>/dev/null || :; done
mount -t overlay overlay -o "lowerdir=/,upperdir=$upper,workdir=$work" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
mount --rbind /dev "$root/dev"
mkdir -m 0755 "$root/run/sshd"
hostname "$4"
exec chroot "$root" ` + sshdPath + ` -D -e`

// VM is a running test VM. Its methods may be called from any goroutine.
type VM struct {
	tb     testing.TB
	net    *network
	ip     string
	hostIP string
	upper  string
	cmd    *exec.Cmd
	log    *bootLog
	exited chan struct{}
	pid1   int // the VM's sshd, as this machine numbers it
	stop   sync.Once
}

// Start boots VM number index (1..250) from userData, a #cloud-config, and
// returns once its sshd listens on 198.18.N.2:22. The user-data must hold
// ssh_keys.ed25519_private/public (the host key) and users; a user named
// cicf is also put in groups sudo and docker. write_files are written and
// runcmd runs (as root, stand-ins first in PATH) before Start returns;
// packages and apt sources are ignored. The VM is stopped and every
// trace removed when the test ends, also when it fails. Start fails the test
// (tb.Fatalf) if the machine lacks root or a needed tool, the user-data is
// unusable, or the VM does not boot. If another test process runs a VM with
// the same index, Start waits for it to end.
func Start(tb testing.TB, index int, userData []byte) *VM {
	tb.Helper()
	return start(tb, index, userData, nil, nil)
}

// start boots the VM; hold, if set, runs once sshd listens and before
// runcmd, while the cloud-init stand-in still says "running".
func start(tb testing.TB, index int, userData []byte, extra map[string][]byte, hold func()) *VM {
	tb.Helper()
	if index < 1 || index > 250 {
		tb.Fatalf("testvm.Start: index %d is outside 1..250", index)
	}
	checkMachine(tb)
	cfg, err := parseUserData(userData)
	if err != nil {
		tb.Fatalf("testvm.Start: %v", err)
	}
	if cfg.Hostname == "" {
		cfg.Hostname = fmt.Sprintf("cicf-vm%d", index)
	}
	dir := tb.TempDir() // before Stop is registered, so removed after it
	n, err := claim(index, tb.Logf)
	if err != nil {
		tb.Fatalf("testvm.Start: %v", err)
	}
	vm := &VM{tb: tb, net: n, upper: filepath.Join(dir, "upper"), exited: make(chan struct{})}
	vm.hostIP, vm.ip = n.addrs()
	vm.log = &bootLog{ready: make(chan struct{}), want: fmt.Sprintf("Server listening on %s port 22.", vm.ip)}
	tb.Cleanup(vm.Stop)

	if err := n.setup(); err != nil {
		tb.Fatalf("testvm.Start: %v: test VMs need root, iproute2, util-linux and openssh-server", err)
	}
	for _, d := range []string{"upper", "work", "root"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	_, realSudo := os.Stat("/usr/bin/sudo")
	fs := &rootfs{upper: vm.upper, ip: vm.ip}
	if err := fs.build(cfg, userData, realSudo == nil); err != nil {
		tb.Fatalf("testvm.Start: prepare VM %d's files: %v", index, err)
	}
	for path, data := range extra {
		if err := fs.write(path, data, 0o600, 0, 0); err != nil {
			tb.Fatalf("testvm.Start: %v", err)
		}
	}
	vm.boot(dir, cfg.Hostname)
	if hold != nil {
		hold()
	}
	vm.runcmd(fs)
	return vm
}

// runcmd runs the user-data's runcmd as root, as cloud-init's final stage
// does, and sets the status the cloud-init stand-in reports. A failure is
// the bot's to notice (cloud-init status --wait says error), not a test
// failure here.
func (vm *VM) runcmd(fs *rootfs) {
	const output = "/var/log/cloud-init-output.log"
	status := "done"
	if _, err := vm.Exec("/bin/sh", "-c", runcmdScript+" >>"+output+" 2>&1"); err != nil {
		status = "error"
		log, _ := os.ReadFile(filepath.Join(vm.upper, output))
		fmt.Fprintf(vm.log, "testvm: runcmd failed: %v\n%s", err, log)
	}
	if err := fs.setCloudInitStatus(status); err != nil {
		vm.tb.Fatalf("testvm: %v", err)
	}
}

func checkMachine(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Fatalf("testvm needs root for network namespaces and mounts; run the tests as root, as CI does (with iproute2, util-linux, openssh-server and python3-yaml installed)")
	}
	for tool, pkg := range map[string]string{"ip": "iproute2", "nsenter": "util-linux", "unshare": "util-linux", sshdPath: "openssh-server", "ss": "iproute2"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Fatalf("testvm needs %s: %v: install %s", tool, err, pkg)
		}
	}
}

func (vm *VM) boot(dir, hostname string) {
	vm.cmd = exec.Command("nsenter", "--net=/run/netns/"+vm.net.ns, "--",
		"unshare", "--mount", "--pid", "--uts", "--fork", "--kill-child=SIGKILL", "--propagation", "private",
		"/bin/sh", "-c", bootScript, "boot",
		filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "root"), hostname)
	vm.cmd.Env = []string{vmPath, "LANG=C"}
	vm.cmd.Stdout, vm.cmd.Stderr = vm.log, vm.log
	// unshare ignores SIGTERM; if this process dies, SIGKILL takes it and,
	// through --kill-child, the whole VM with it.
	vm.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	vm.cmd.WaitDelay = 5 * time.Second
	if err := vm.cmd.Start(); err != nil {
		vm.tb.Fatalf("testvm.Start: %v: install util-linux", err)
	}
	go func() { vm.cmd.Wait(); close(vm.exited) }()
	select {
	case <-vm.log.ready:
	case <-vm.exited:
		vm.tb.Fatalf("testvm: VM %d stopped while booting:\n%s", vm.net.index, vm.log)
	case <-time.After(60 * time.Second): // a safety net for a stuck boot, not an assertion
		vm.tb.Fatalf("testvm: VM %d's sshd did not listen within a minute:\n%s", vm.net.index, vm.log)
	}
	if vm.pid1 = childOf(vm.cmd.Process.Pid); vm.pid1 == 0 {
		vm.tb.Fatalf("testvm: VM %d has no init process", vm.net.index)
	}
}

// Stop stops the VM and removes its namespace and links. Start registers
// it with tb.Cleanup; calling it earlier is allowed, and further calls do
// nothing. Failures to clean up are reported with tb.Errorf.
func (vm *VM) Stop() {
	vm.stop.Do(func() {
		if vm.cmd != nil && vm.cmd.Process != nil {
			vm.cmd.Process.Kill()
			<-vm.exited
		}
		for _, err := range vm.net.teardown() {
			vm.tb.Errorf("testvm: clean up VM %d: %v", vm.net.index, err)
		}
		if vm.tb.Failed() {
			vm.tb.Logf("testvm: VM %d (%s) log:\n%s", vm.net.index, vm.ip, vm.log)
		}
	})
}

// Addr returns the VM's SSH address, "198.18.N.2:22".
func (vm *VM) Addr() string { return vm.ip + ":22" }

// IP returns the VM's address, "198.18.N.2".
func (vm *VM) IP() string { return vm.ip }

// HostIP returns this machine's address on the VM's link, "198.18.N.1":
// where the bot's connections come from, as the VM sees them.
func (vm *VM) HostIP() string { return vm.hostIP }

// Namespace returns the name of the VM's network namespace, for
// "ip netns exec" (e.g. to run a server on the VM's address).
func (vm *VM) Namespace() string { return vm.net.ns }

// Exec runs args as root inside the VM (its namespaces and root directory)
// and returns the standard output. On failure the error holds the exit
// status and standard error.
func (vm *VM) Exec(args ...string) ([]byte, error) {
	cmd := exec.Command("nsenter", append([]string{
		"--target", strconv.Itoa(vm.pid1), "--mount", "--uts", "--net", "--pid", "--root", "--wd", "--",
	}, args...)...)
	cmd.Env = []string{vmPath, "HOME=/root", "LANG=C"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("VM %d: %s: %v: %s", vm.net.index, strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// Records returns the stand-ins' invocations so far, oldest first, each as
// "NAME ARGS..." joined by spaces, e.g. "docker compose up -d". It returns
// nil if there are none or the record file cannot be read.
func (vm *VM) Records() []string {
	data, err := os.ReadFile(filepath.Join(vm.upper, recordsFile))
	if err != nil {
		return nil
	}
	var records []string
	for line := range strings.Lines(string(data)) {
		records = append(records, strings.TrimSuffix(line, "\n"))
	}
	return records
}

// Log returns what the VM's boot script and sshd wrote so far.
func (vm *VM) Log() string { return vm.log.String() }

// childOf returns the pid of a child of parent, 0 if none.
func childOf(parent int) int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(data, ')')
		f := strings.Fields(string(data[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(parent) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			return pid
		}
	}
	return 0
}

// bootLog keeps the VM's log and closes ready at sshd's listening line.
type bootLog struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	want  string
	ready chan struct{}
	seen  bool
}

func (l *bootLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.seen && strings.Contains(l.buf.String(), l.want) {
		l.seen = true
		close(l.ready)
	}
	return len(p), nil
}

func (l *bootLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
