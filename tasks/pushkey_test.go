package tasks_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/tasks"
)

func newSigner(t *testing.T) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
}

func (e *cloudEnv) setKey(name, key string) {
	e.t.Helper()
	s, err := e.students.FindStudent(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	s.PublicKey = key
	if err := e.students.UpdateStudent(context.Background(), s); err != nil {
		e.t.Fatal(err)
	}
}

// A student who replaces a leaked key while her VM is being provisioned
// must not keep the leaked one authorized: the run's last step pushes the
// key saved by then.
func TestKeySetDuringProvisionIsPushedAtTheEnd(t *testing.T) {
	e := newCloudEnv(t, 130)
	ctx := context.Background()
	leaked := e.student("emma")
	fresh, freshKey := newSigner(t)

	r, err := e.runner.Start(ctx, tasks.RunProvision, "emma", "U0TEACH01", "U0TEACH01")
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the user-data (with the leaked key) went to DigitalOcean.
	for deadline := time.Now().Add(30 * time.Second); len(e.sim.Droplets()) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no droplet was created")
		}
	}
	e.setKey("emma", freshKey)
	e.runner.Wait()
	if r, err = e.runs.FindRun(ctx, r.ID); err != nil || r.State != tasks.RunDone {
		t.Fatalf("provision = %+v, %v; want done", r, err)
	}
	if got := r.StepIDs[len(r.StepIDs)-1]; got != "push-key" {
		t.Errorf("last step %q, want push-key", got)
	}
	vmRec, err := e.vms.FindVM(ctx, "emma")
	if err != nil {
		t.Fatal(err)
	}
	ud := e.sim.UserData(vmRec.DropletID)
	if !strings.Contains(ud, strings.Fields(string(ssh.MarshalAuthorizedKey(leaked.PublicKey())))[1]) {
		t.Fatalf("user-data does not carry the leaked key: the test set the new key too early")
	}
	vm := e.vm(vmRec.DropletID)
	if who, err := loginAs(t, vm.Addr(), fresh, vmRec.HostKey); err != nil || who != "cicf" {
		t.Errorf("login with the key set during the run = %q, %v; want cicf", who, err)
	}
	if _, err := loginAs(t, vm.Addr(), leaked, vmRec.HostKey); err == nil {
		t.Errorf("the replaced (leaked) key still logs in")
	}
}

// A push that fails leaves authorized_keys as it was, so the student's old
// key keeps working until a push succeeds.
func TestFailedKeyPushKeepsTheOldKey(t *testing.T) {
	e := newCloudEnv(t, 131)
	ctx := context.Background()
	old := e.student("noah")
	if r := e.run(tasks.RunProvision, "noah"); r.State != tasks.RunDone {
		t.Fatalf("provision ended %s: %s", r.State, r.Error)
	}
	vmRec, err := e.vms.FindVM(ctx, "noah")
	if err != nil {
		t.Fatal(err)
	}
	vm := e.vm(vmRec.DropletID)
	before, err := vm.Exec("cat", "/home/cicf/.ssh/authorized_keys")
	if err != nil {
		t.Fatal(err)
	}
	// The upload cannot create its temporary file next to authorized_keys.
	if out, err := vm.Exec("chmod", "0555", "/home/cicf/.ssh"); err != nil {
		t.Fatalf("chmod: %v\n%s", err, out)
	}
	fresh, freshKey := newSigner(t)
	e.setKey("noah", freshKey)
	if err := e.runner.PushKey(ctx, "noah"); err == nil {
		t.Fatal("PushKey into a read-only ~/.ssh = nil, want an error")
	}
	after, err := vm.Exec("cat", "/home/cicf/.ssh/authorized_keys")
	if err != nil || string(after) != string(before) {
		t.Errorf("authorized_keys after a failed push = %q, %v; want it unchanged %q", after, err, before)
	}
	if who, err := loginAs(t, vm.Addr(), old, vmRec.HostKey); err != nil || who != "cicf" {
		t.Errorf("old key after a failed push: %q, %v; want it to log in", who, err)
	}
	if out, err := vm.Exec("chmod", "0700", "/home/cicf/.ssh"); err != nil {
		t.Fatalf("chmod: %v\n%s", err, out)
	}
	if err := e.runner.PushKey(ctx, "noah"); err != nil {
		t.Fatalf("PushKey after the fault cleared = %v", err)
	}
	if who, err := loginAs(t, vm.Addr(), fresh, vmRec.HostKey); err != nil || who != "cicf" {
		t.Errorf("new key after the push: %q, %v; want it to log in", who, err)
	}
	if _, err := loginAs(t, vm.Addr(), old, vmRec.HostKey); err == nil {
		t.Errorf("old key still logs in after a successful push")
	}
}
