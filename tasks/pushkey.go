package tasks

import (
	"context"
	"net"
	"strconv"
)

// PushKey writes the student's current key, and the bot's, to the VM's
// authorized_keys over the pinned session. The file is replaced atomically
// (Remote.Upload), so a push that fails leaves the keys that worked before.
// It returns ENOTFOUND when the student has no VM and EUNAVAILABLE when the
// VM does not answer.
func (x *Runner) PushKey(ctx context.Context, name string) error {
	s, err := x.d.Students.FindStudent(ctx, name)
	if err != nil {
		return err
	}
	vm, err := x.d.VMs.FindVM(ctx, name)
	if err != nil {
		return err
	}
	if s.PublicKey == "" {
		return Errorf(EINVALID, "%s has no SSH public key to put on the VM.", name)
	}
	if vm.HostKey == "" || vm.IPv4 == "" || vm.Status != "active" {
		return Errorf(EUNAVAILABLE, "%s's VM is not running with a pinned host key, so the key is saved and will be used at the next provision or reset.", name)
	}
	rem, err := x.d.SSH.Dial(ctx, net.JoinHostPort(vm.IPv4, strconv.Itoa(x.cfg.SSHPort)), x.cfg.SSHUser, vm.HostKey)
	if err != nil {
		return err
	}
	defer rem.Close()
	return x.pushLatest(ctx, rem, name)
}

// pushLatest writes the student's saved key, then reads it again and
// repeats while it changed meanwhile, so that of two keys set at once the
// later one ends up on the VM, as in the store.
func (x *Runner) pushLatest(ctx context.Context, rem Remote, name string) error {
	pushed := ""
	for range 3 {
		s, err := x.d.Students.FindStudent(ctx, name)
		if err != nil {
			return err
		}
		if s.PublicKey == pushed {
			return nil
		}
		keys := s.PublicKey + "\n" + x.d.SSH.PublicKey() + "\n"
		if err := rem.Upload(ctx, "/home/"+x.cfg.SSHUser+"/.ssh/authorized_keys", 0o600, []byte(keys)); err != nil {
			return err
		}
		pushed = s.PublicKey
	}
	return nil
}

// pushKeyStep is the last step of a provision or reset: the user-data
// carried the key saved when the run started, and a student may have
// replaced it since (a leaked key must not stay authorized). The `key`
// command leaves the push to this step while the run is active.
func (x *Runner) pushKeyStep(ctx context.Context, r *Run) error {
	rem, err := x.dial(ctx, r, r.Data.HostKey)
	if err != nil {
		return err
	}
	defer rem.Close()
	if err := x.pushLatest(ctx, rem, r.VM); err != nil {
		return err
	}
	if r.Kind == RunProvision {
		// The last step: once it is done, the VM is ready for the first
		// time, and its student gets the welcome.
		s, err := x.d.Students.FindStudent(ctx, r.VM)
		if err != nil {
			return err
		}
		r.Data.Welcome = s.SlackID
	}
	return nil
}
