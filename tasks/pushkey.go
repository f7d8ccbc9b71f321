package tasks

import (
	"context"
	"net"
	"strconv"
)

// PushKey writes the student's current key, and the bot's, to the VM's
// authorized_keys over the pinned session. It returns ENOTFOUND when the
// student has no VM and EUNAVAILABLE when the VM does not answer.
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
	keys := s.PublicKey + "\n" + x.d.SSH.PublicKey() + "\n"
	return rem.Upload(ctx, "/home/"+x.cfg.SSHUser+"/.ssh/authorized_keys", 0o600, []byte(keys))
}
