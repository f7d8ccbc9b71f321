package testvm

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// debianBootScript runs as PID 1 of a Debian VM: the cached Debian 12 root
// (read-only lower layer) under the VM's own upper layer, then cloud-init's
// four stages as systemd would run them at first boot, then that root's
// sshd. Stage failures are cloud-init's to report (status, result.json),
// not the script's.
const debianBootScript = `set -eu
lower=$1 upper=$2 work=$3 root=$4
umount -l /run/netns 2>/dev/null || for m in /run/netns/*; do umount -l "$m" 2>/dev/null || :; done
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs -o ro sysfs "$root/sys"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
mount -t tmpfs -o mode=0755,nosuid tmpfs "$root/dev"
for d in null zero full random urandom tty; do
	touch "$root/dev/$d"
	mount --bind "/dev/$d" "$root/dev/$d"
done
mkdir -m 0755 "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
ln -s /proc/self/fd "$root/dev/fd"
hostname cicf-firstboot
echo "testvm: cloud-init stages"
for stage in "init --local" "init" "modules --mode config" "modules --mode final"; do
	chroot "$root" /usr/bin/cloud-init $stage || echo "testvm: cloud-init $stage exited $?"
done
mkdir -p -m 0755 "$root/run/sshd"
echo "testvm: sshd"
# Not exec: PID 1 stays this shell, whose environment cloud-init reads
# (is_container) as it reads systemd's on a droplet; sshd's is no
# NAME=VALUE list.
chroot "$root" /usr/sbin/sshd -D -e &
wait`

// DebianOptions change what a Debian VM's stand-in repositories do.
type DebianOptions struct {
	// DockerDown makes Docker's stand-in repository answer 404, as an
	// unreachable download.docker.com fails apt-get update.
	DockerDown bool
	// NoUFW hides the root's ufw (an overlay whiteout), as on an image
	// where installing it failed; Debian's stand-in has none to install.
	NoUFW bool
	// CACertPEM and CAKeyPEM, when set, make the VM serve HTTPS after
	// provisioning as StartWithCA's does: no systemd and no Docker run in
	// a namespace, so systemctl is the light VM's stand-in, which runs this
	// machine's Caddy from the uploaded payload with this test CA. All
	// else (cloud-init, sshd, sudo, ufw, apt) is the Debian root's own.
	CACertPEM, CAKeyPEM []byte
}

// StartDebian boots VM number index from a real Debian 12 root filesystem
// (scripts/build-rootfs builds it once and caches it outside the
// repository) with userData as its NoCloud seed: the real cloud-init runs
// its four stages, then the root's real sshd listens on 198.18.N.2:22.
//
// The VM has no internet. Exactly two fetches are replaced, by stand-in
// repositories served from this machine's side of the link (aptrepo.go):
// Debian's mirror in the root's sources.list, and Docker's repository,
// whose URL and signed-by key the user-data names; StartDebian rewrites
// those two strings in the seed (and fails if either is missing), and keeps
// Docker's key file as the user-data writes it.
//
// Like Start, it stops the VM and removes every trace when the test ends,
// and fails the test if the machine lacks root or a tool.
func StartDebian(tb testing.TB, index int, userData []byte, opt DebianOptions) *VM {
	tb.Helper()
	if index < 1 || index > 250 {
		tb.Fatalf("testvm.StartDebian: index %d is outside 1..250", index)
	}
	checkMachine(tb)
	lower := debianRoot(tb)
	dir := tb.TempDir()
	n, err := claim(index, tb.Logf)
	if err != nil {
		tb.Fatalf("testvm.StartDebian: %v", err)
	}
	vm := &VM{tb: tb, net: n, upper: filepath.Join(dir, "upper"), exited: make(chan struct{})}
	vm.hostIP, vm.ip = n.addrs()
	vm.log = &bootLog{ready: make(chan struct{}), want: "Server listening on 0.0.0.0 port 22."}
	tb.Cleanup(vm.Stop)
	if err := n.setup(); err != nil {
		tb.Fatalf("testvm.StartDebian: %v: test VMs need root, iproute2, util-linux", err)
	}
	for _, d := range []string{"upper", "work", "root"} {
		must(tb, os.Mkdir(filepath.Join(dir, d), 0o755))
	}
	repos := startAptRepos(tb, filepath.Join(dir, "repos"), vm.hostIP, opt.DockerDown)
	seed, err := seedUserData(userData, repos.URL)
	if err != nil {
		tb.Fatalf("testvm.StartDebian: %v", err)
	}
	fs := &rootfs{upper: vm.upper}
	for path, data := range map[string][]byte{
		"/var/lib/cloud/seed/nocloud/user-data": seed,
		"/var/lib/cloud/seed/nocloud/meta-data": fmt.Appendf(nil, "instance-id: cicf-testvm-%d\n", index),
		// No DigitalOcean metadata service here; the network is the test's.
		"/etc/cloud/cloud.cfg.d/90-cicf-testvm.cfg": []byte("datasource_list: [NoCloud, None]\nnetwork: {config: disabled}\n"),
		"/etc/apt/sources.list":                     fmt.Appendf(nil, "deb [signed-by=%s] %s/debian bookworm main\n", standinKeyPath, repos.URL),
		standinKeyPath:                              repos.KeyASC,
	} {
		if err := fs.write(path, data, 0o644, 0, 0); err != nil {
			tb.Fatalf("testvm.StartDebian: %v", err)
		}
	}
	if opt.NoUFW {
		must(tb, fs.mkdir("/usr/sbin", 0o755, 0, 0))
		must(tb, syscall.Mknod(filepath.Join(vm.upper, "/usr/sbin/ufw"), syscall.S_IFCHR, 0))
	}
	if opt.CACertPEM != nil {
		if err := fs.serviceStandins(opt.CACertPEM, opt.CAKeyPEM); err != nil {
			tb.Fatalf("testvm.StartDebian: %v", err)
		}
	}
	vm.cmd = exec.Command("nsenter", "--net=/run/netns/"+vm.net.ns, "--",
		"unshare", "--mount", "--pid", "--uts", "--ipc", "--fork", "--kill-child=SIGKILL", "--propagation", "private",
		"/bin/sh", "-c", debianBootScript, "boot", lower, vm.upper, filepath.Join(dir, "work"), filepath.Join(dir, "root"))
	vm.cmd.Env = []string{vmPath, "LANG=C.UTF-8"}
	vm.cmd.Stdout, vm.cmd.Stderr = vm.log, vm.log
	vm.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	vm.cmd.WaitDelay = 5 * time.Second
	if err := vm.cmd.Start(); err != nil {
		tb.Fatalf("testvm.StartDebian: %v: install util-linux", err)
	}
	go func() { vm.cmd.Wait(); close(vm.exited) }()
	select {
	case <-vm.log.ready:
	case <-vm.exited:
		tb.Fatalf("testvm: Debian VM %d stopped while booting:\n%s", index, vm.log)
	case <-time.After(3 * time.Minute): // a safety net for a stuck boot, not an assertion
		tb.Fatalf("testvm: Debian VM %d's sshd did not listen within 3 minutes:\n%s", index, vm.log)
	}
	// Exec enters sshd's namespaces and root (the chroot), not PID 1's.
	if vm.pid1 = childOf(childOf(vm.cmd.Process.Pid)); vm.pid1 == 0 {
		tb.Fatalf("testvm: Debian VM %d has no sshd process", index)
	}
	return vm
}

// standinKeyPath is where the stand-in repositories' key goes in the VM.
const standinKeyPath = "/etc/apt/keyrings/cicf-testvm-repo.asc"

// The strings of the user-data StartDebian replaces: Docker's repository
// and the key apt trusts for it.
const (
	dockerRepoURL = "https://download.docker.com/linux/debian"
	dockerSigned  = "signed-by=/etc/apt/keyrings/docker.asc"
)

func seedUserData(userData []byte, repoURL string) ([]byte, error) {
	for _, s := range []string{dockerRepoURL, dockerSigned} {
		if n := bytes.Count(userData, []byte(s)); n != 1 {
			return nil, fmt.Errorf("user-data names %q %d times, want once: the Docker stand-in would not replace exactly the Docker fetch", s, n)
		}
	}
	out := bytes.Replace(userData, []byte(dockerRepoURL), []byte(repoURL+"/docker"), 1)
	return bytes.Replace(out, []byte(dockerSigned), []byte("signed-by="+standinKeyPath), 1), nil
}

// debianRoot returns the unpacked Debian root, building (scripts/build-rootfs)
// and unpacking it once per machine; later calls reuse the cache.
func debianRoot(tb testing.TB) string {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "build-rootfs")
	cmd := exec.Command(script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("testvm: %s (needs root, debootstrap and zstd, and the Debian mirror): %v\n%s", script, err, stderr.String())
	}
	if stderr.Len() > 0 {
		tb.Log(strings.TrimSpace(stderr.String()))
	}
	tarball := strings.TrimSpace(string(out))
	root := strings.TrimSuffix(tarball, ".tar.zst") + ".root"
	// Unpacked under a lock, into a temporary name renamed when complete,
	// so parallel test processes share one copy and never see half of it.
	lock, err := os.OpenFile(root+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	must(tb, err)
	defer lock.Close()
	must(tb, syscall.Flock(int(lock.Fd()), syscall.LOCK_EX))
	if _, err := os.Stat(root); err == nil {
		return root
	}
	tmp := root + ".tmp"
	os.RemoveAll(tmp)
	must(tb, os.Mkdir(tmp, 0o755))
	if b, err := exec.Command("tar", "-I", "zstd", "-xpf", tarball, "--numeric-owner", "--xattrs", "-C", tmp).CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		tb.Fatalf("testvm: unpack %s: %v\n%s", tarball, err, b)
	}
	must(tb, os.Rename(tmp, root))
	return root
}

// serviceStandins puts the systemctl stand-in, this machine's Caddy and the
// test CA into a Debian VM.
func (r *rootfs) serviceStandins(caCert, caKey []byte) error {
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		return fmt.Errorf("%v: install caddy", err)
	}
	bin, err := os.ReadFile(caddy)
	if err != nil {
		return err
	}
	type vmFile struct {
		path string
		data []byte
		mode os.FileMode
	}
	files := []vmFile{
		{"/usr/local/bin/caddy", bin, 0o755},
		{recordsFile, nil, 0o666},
	}
	ca, err := caFiles(caCert, caKey)
	if err != nil {
		return err
	}
	for path, data := range ca {
		files = append(files, vmFile{path, data, 0o600})
	}
	for _, name := range []string{"systemctl", "record.sh"} {
		data, err := standins.ReadFile("standins/" + name)
		if err != nil {
			return err
		}
		path, mode := "/usr/local/bin/"+name, os.FileMode(0o755)
		if name == "record.sh" {
			path, mode = "/usr/local/lib/cicf-testvm/record.sh", 0o644
		}
		files = append(files, vmFile{path, data, mode})
	}
	for _, f := range files {
		if err := r.write(f.path, f.data, f.mode, 0, 0); err != nil {
			return err
		}
	}
	return nil
}
