package tasks_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
)

// userDataHostKey returns the host public key a droplet's user-data carried.
func userDataHostKey(t *testing.T, userData string) string {
	t.Helper()
	for _, line := range strings.Split(userData, "\n") {
		if k, ok := strings.CutPrefix(strings.TrimSpace(line), "ed25519_public:"); ok {
			return strings.Trim(strings.TrimSpace(k), `"'`)
		}
	}
	t.Fatalf("user-data has no ed25519_public")
	return ""
}

func sameKey(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	return len(fa) >= 2 && len(fb) >= 2 && fa[0] == fb[0] && fa[1] == fb[1]
}

func TestProvisionAndResetOnRealVMs(t *testing.T) {
	e := newCloudEnv(t, 11)
	ctx := context.Background()
	emma := e.student("emma")

	r := e.run(tasks.RunProvision, "emma")
	if r.State != tasks.RunDone {
		t.Fatalf("provision ended %s at step %d: %s", r.State, r.Step, r.Error)
	}
	vmRec, err := e.vms.FindVM(ctx, "emma")
	if err != nil {
		t.Fatal(err)
	}
	vm := e.vm(vmRec.DropletID)

	// The pinned key is the one the VM made after first boot, not the one
	// that travelled in user-data.
	onVM, err := vm.Exec("cat", "/etc/ssh/ssh_host_ed25519_key.pub")
	if err != nil {
		t.Fatal(err)
	}
	if !sameKey(vmRec.HostKey, string(onVM)) {
		t.Errorf("pinned host key %q, VM has %q", vmRec.HostKey, onVM)
	}
	if sameKey(vmRec.HostKey, userDataHostKey(t, e.sim.UserData(vmRec.DropletID))) {
		t.Errorf("host key was not rotated away from the user-data key")
	}
	// The student's key logs in as cicf, trusting only the pinned key.
	if who, err := loginAs(t, vm.Addr(), emma, vmRec.HostKey); err != nil || who != "cicf" {
		t.Errorf("student login = %q, %v; want cicf", who, err)
	}
	// The payload landed with the right modes, and the service was started.
	for path, want := range map[string]string{
		"/home/cicf/data/.env":                      "600 cicf",
		"/home/cicf/data/Caddyfile":                 "644 cicf",
		"/etc/systemd/system/jupyter-caddy.service": "644 root",
	} {
		out, err := vm.Exec("stat", "-c", "%a %U", path)
		if got := strings.TrimSpace(string(out)); err != nil || got != want {
			t.Errorf("stat %s = %q, %v; want %q", path, got, err, want)
		}
	}
	records := strings.Join(vm.Records(), "\n")
	for _, want := range []string{"ufw --force enable", "systemctl enable --now jupyter-caddy.service"} {
		if !strings.Contains(records, want) {
			t.Errorf("VM records lack %q:\n%s", want, records)
		}
	}
	if recs := e.sim.Records(domain); !hasRecord(recs, "A", "emma", vm.IP()) {
		t.Errorf("no A record emma → %s in %+v", vm.IP(), recs)
	}

	// Reset: a new droplet and host key, the old droplet gone, same name.
	old := vmRec
	r = e.run(tasks.RunReset, "emma")
	if r.State != tasks.RunDone {
		t.Fatalf("reset ended %s at step %d: %s", r.State, r.Step, r.Error)
	}
	vmRec, err = e.vms.FindVM(ctx, "emma")
	if err != nil {
		t.Fatal(err)
	}
	if vmRec.DropletID == old.DropletID || sameKey(vmRec.HostKey, old.HostKey) || vmRec.LastResetAt.IsZero() {
		t.Errorf("after reset VM = %+v, want a new droplet, a new host key and a reset time", vmRec)
	}
	n := 0
	for _, d := range e.sim.Droplets() {
		if d.Name == "emma.cicf.cloud" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d droplets named emma.cicf.cloud after reset, want 1", n)
	}
	nvm := e.vm(vmRec.DropletID)
	if who, err := loginAs(t, nvm.Addr(), emma, vmRec.HostKey); err != nil || who != "cicf" {
		t.Errorf("student login after reset = %q, %v; want cicf", who, err)
	}
	if recs := e.sim.Records(domain); !hasRecord(recs, "A", "emma", nvm.IP()) {
		t.Errorf("DNS not moved to %s: %+v", nvm.IP(), recs)
	}
}

func TestChangedHostKeyIsRefused(t *testing.T) {
	e := newCloudEnv(t, 21)
	ctx := context.Background()
	e.student("noah")
	if r := e.run(tasks.RunProvision, "noah"); r.State != tasks.RunDone {
		t.Fatalf("provision ended %s: %s", r.State, r.Error)
	}
	vmRec, err := e.vms.FindVM(ctx, "noah")
	if err != nil {
		t.Fatal(err)
	}
	vm := e.vm(vmRec.DropletID)
	// Someone replaces the VM's host key behind the bot's back.
	if out, err := vm.Exec("/bin/sh", "-c", "rm -f /etc/ssh/ssh_host_ed25519_key* && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key && systemctl reload ssh"); err != nil {
		t.Fatalf("replace host key: %v\n%s", err, out)
	}
	err = e.runner.PushKey(ctx, "noah")
	if !errors.Is(err, tasks.ErrHostKeyMismatch) || !strings.Contains(tasks.ErrorMessage(err), "REMOTE HOST IDENTIFICATION HAS CHANGED") {
		t.Fatalf("PushKey after the host key changed = %v, want ErrHostKeyMismatch", err)
	}
	// Nothing reached the VM: authorized_keys is as the provision left it.
	keys, err := vm.Exec("cat", "/home/cicf/.ssh/authorized_keys")
	if err != nil || strings.Count(string(keys), "ssh-ed25519") != 2 {
		t.Errorf("authorized_keys = %q, %v", keys, err)
	}
	addr := net.JoinHostPort(vm.IP(), strconv.Itoa(22))
	if _, err := loginAs(t, addr, e.student("other"), vmRec.HostKey); err == nil || !strings.Contains(err.Error(), "host key mismatch") {
		t.Errorf("a client pinning the old key: %v, want a host key mismatch", err)
	}
}

func hasRecord(recs []dosim.RecordInfo, typ, name, data string) bool {
	for _, r := range recs {
		if r.Type == typ && r.Name == name && r.Data == data {
			return true
		}
	}
	return false
}
