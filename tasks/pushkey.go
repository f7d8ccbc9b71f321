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
	if vm.HostKey == "" || vm.IPv4 == "" || vm.Status != "active" {
		return Errorf(EUNAVAILABLE, "%s's VM is not running with a pinned host key, so the key is saved and will be used at the next provision or reset.", name)
	}
	rem, err := x.d.SSH.Dial(ctx, net.JoinHostPort(vm.IPv4, strconv.Itoa(x.cfg.SSHPort)), x.cfg.SSHUser, vm.HostKey)
	if err != nil {
		return err
	}
	defer rem.Close()
	return x.writeKeys(ctx, rem, s.PublicKey)
}

func (x *Runner) writeKeys(ctx context.Context, rem Remote, studentKey string) error {
	keys := studentKey + "\n" + x.d.SSH.PublicKey() + "\n"
	return rem.Upload(ctx, "/home/"+x.cfg.SSHUser+"/.ssh/authorized_keys", 0o600, []byte(keys))
}

// pushKeyStep is the last step of a provision or reset: the user-data
// carried the key saved when the run started, and a student may have
// replaced it since (a leaked key must not stay authorized). It writes the
// saved key, then reads it again and repeats while it changed meanwhile.
// The `key` command leaves the push to this step while the run is active.
func (x *Runner) pushKeyStep(ctx context.Context, r *Run) error {
	rem, err := x.dial(ctx, r, r.Data.HostKey)
	if err != nil {
		return err
	}
	defer rem.Close()
	pushed := ""
	for range 3 {
		s, err := x.d.Students.FindStudent(ctx, r.VM)
		if err != nil {
			return err
		}
		if s.PublicKey == pushed {
			return nil
		}
		if err := x.writeKeys(ctx, rem, s.PublicKey); err != nil {
			return err
		}
		pushed = s.PublicKey
	}
	return nil
}
