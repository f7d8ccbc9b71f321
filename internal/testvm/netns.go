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
)

// lockDir holds one lock file per VM index, so that test processes running
// in parallel (go test ./...) never put two VMs on the same /24.
const lockDir = "/run/cicf-testvm"

var (
	inUseMu  sync.Mutex
	inUse    = map[int]bool{}     // indexes this process is running
	reserved = map[int]*os.File{} // indexes locked ahead (Fleet.Reserve), no VM yet
)

// network is a VM's network namespace and veth pair.
type network struct {
	index    int
	ns       string // cicf-vmN-<pid>
	hostLink string // cicfNh<pid base 36>; the VM side is eth0
	lock     *os.File
}

func names(index int) (ns, link string) {
	pid := os.Getpid()
	return fmt.Sprintf("cicf-vm%d-%d", index, pid), fmt.Sprintf("cicf%dh%s", index, strconv.FormatInt(int64(pid), 36))
}

// claim takes index for this process, waiting for another process that
// holds it, and removes what a crashed holder left behind.
func claim(index int, logf func(string, ...any)) (*network, error) {
	inUseMu.Lock()
	if inUse[index] {
		inUseMu.Unlock()
		return nil, fmt.Errorf("VM index %d is already running in this test process; give each VM its own index", index)
	}
	inUse[index] = true
	inUseMu.Unlock()
	n := &network{index: index}
	n.ns, n.hostLink = names(index)
	if err := n.lockIndex(logf); err != nil {
		n.release()
		return nil, err
	}
	n.removeStale()
	return n, nil
}

func (n *network) lockIndex(logf func(string, ...any)) error {
	inUseMu.Lock()
	f, ok := reserved[n.index]
	delete(reserved, n.index)
	inUseMu.Unlock()
	if !ok {
		var err error
		if f, err = lockIndexFile(n.index, logf); err != nil {
			return err
		}
	}
	n.lock = f
	return nil
}

// lockIndexFile opens index's lock file and takes its lock, waiting for
// another test process that holds it.
func lockIndexFile(index int, logf func(string, ...any)) (*os.File, error) {
	if err := os.MkdirAll(lockDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(lockDir, strconv.Itoa(index)+".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		logf("testvm: waiting for VM index %d, which another test process is using", index)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock VM index %d: %w", index, err)
		}
	}
	return f, nil
}

// reserve takes index's lock before its VM exists; the VM that claims it
// later takes the lock over. An index this process holds already is left
// as it is.
func reserve(index int, logf func(string, ...any)) error {
	inUseMu.Lock()
	held := inUse[index] || reserved[index] != nil
	inUseMu.Unlock()
	if held {
		return nil
	}
	f, err := lockIndexFile(index, logf)
	if err != nil {
		return err
	}
	inUseMu.Lock()
	reserved[index] = f
	inUseMu.Unlock()
	return nil
}

// unreserve drops index's lock if no VM took it over.
func unreserve(index int) {
	inUseMu.Lock()
	defer inUseMu.Unlock()
	if f := reserved[index]; f != nil {
		f.Close()
		delete(reserved, index)
	}
}

// removeStale deletes namespaces and links of this index left by a test
// process that was killed; holding the index's lock, none can be in use.
func (n *network) removeStale() {
	prefix := fmt.Sprintf("cicf-vm%d-", n.index)
	out, _ := exec.Command("ip", "netns", "list").Output()
	for line := range strings.Lines(string(out)) {
		if name, _, _ := strings.Cut(strings.TrimSpace(line), " "); strings.HasPrefix(name, prefix) {
			exec.Command("ip", "netns", "del", name).Run()
		}
	}
	linkPrefix := fmt.Sprintf("cicf%dh", n.index)
	out, _ = exec.Command("ip", "-o", "link", "show").Output()
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if strings.HasPrefix(name, linkPrefix) {
			exec.Command("ip", "link", "del", name).Run()
		}
	}
}

// setup creates the namespace and the veth pair: host side 198.18.N.1/24,
// VM side eth0 198.18.N.2/24. The VM gets no default route: it can reach
// this machine's veth address and nothing else.
func (n *network) setup() error {
	host, vm := n.addrs()
	steps := [][]string{
		{"netns", "add", n.ns},
		{"link", "add", n.hostLink, "type", "veth", "peer", "name", "eth0", "netns", n.ns},
		{"addr", "add", host + "/24", "dev", n.hostLink},
		{"link", "set", n.hostLink, "up"},
		{"-n", n.ns, "addr", "add", vm + "/24", "dev", "eth0"},
		{"-n", n.ns, "link", "set", "eth0", "up"},
		{"-n", n.ns, "link", "set", "lo", "up"},
	}
	for _, args := range steps {
		if err := run("ip", args...); err != nil {
			return err
		}
	}
	return nil
}

// teardown deletes the namespace and the veth pair (deleting one end
// deletes both, even while a namespace is still referenced), then frees the
// index.
func (n *network) teardown() []error {
	var errs []error
	if linkExists(n.hostLink) {
		if err := run("ip", "link", "del", n.hostLink); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := os.Stat(filepath.Join("/run/netns", n.ns)); err == nil {
		if err := run("ip", "netns", "del", n.ns); err != nil {
			errs = append(errs, err)
		}
	}
	n.release()
	return errs
}

func (n *network) release() {
	if n.lock != nil {
		n.lock.Close() // drops the flock
		n.lock = nil
	}
	inUseMu.Lock()
	delete(inUse, n.index)
	inUseMu.Unlock()
}

func (n *network) addrs() (host, vm string) {
	return fmt.Sprintf("198.18.%d.1", n.index), fmt.Sprintf("198.18.%d.2", n.index)
}

func linkExists(name string) bool {
	return exec.Command("ip", "link", "show", "dev", name).Run() == nil
}

func run(name string, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
