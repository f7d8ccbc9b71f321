package tasks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/deploy"
)

const hostKeyPath = "/etc/ssh/ssh_host_ed25519_key"

// Commands run on the VM. They are constants: nothing a person typed
// reaches the remote shell except through ShellQuote.
const (
	// --long: on an error, cloud-init lists each failure as
	// ('module_name', Exception(...)) under "detail:".
	cmdCloudInitWait = "cloud-init status --wait --long"
	cmdNewHostKey    = "sudo sh -c 'rm -f " + hostKeyPath + ".next " + hostKeyPath + ".next.pub && ssh-keygen -q -t ed25519 -N \"\" -C \"\" -f " + hostKeyPath + ".next >/dev/null && cat " + hostKeyPath + ".next.pub'"
	// Activation is idempotent so a resumed run can repeat it.
	cmdActivateHostKey = "sudo sh -c 'if [ -e " + hostKeyPath + ".next ]; then mv -f " + hostKeyPath + ".next " + hostKeyPath + " && mv -f " + hostKeyPath + ".next.pub " + hostKeyPath + ".pub; fi; systemctl reload ssh || systemctl reload sshd'"
	cmdStartService    = "sudo systemctl daemon-reload && sudo systemctl enable --now " + deploy.ServiceName
)

func (x *Runner) addr(r *Run) string {
	return net.JoinHostPort(r.Data.IPv4, strconv.Itoa(x.cfg.SSHPort))
}

// dial connects with the run's pinned host key, retrying while the VM does
// not answer yet; a different host key stops at once.
func (x *Runner) dial(ctx context.Context, r *Run, pin string) (Remote, error) {
	var rem Remote
	err := x.poll(ctx, fmt.Sprintf("SSH on %s", x.addr(r)), func() (bool, error) {
		var err error
		rem, err = x.d.SSH.Dial(ctx, x.addr(r), x.cfg.SSHUser, pin)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, ErrHostKeyMismatch):
			return false, err
		case ErrorCode(err) == EUNAVAILABLE:
			return false, nil
		}
		return false, err
	})
	return rem, err
}

func (x *Runner) waitSSH(ctx context.Context, r *Run) error {
	rem, err := x.dial(ctx, r, r.Data.HostKey)
	if err != nil {
		return err
	}
	defer rem.Close()
	out, err := rem.Run(ctx, cmdCloudInitWait)
	if _, ran := errors.AsType[*ssh.ExitError](err); ran {
		// It answered, with an error: waiting longer will not help. Any
		// module's error fails the run: a firewall that could not be set
		// up must not leave a VM open.
		return Errorf(ECONFLICT, "cloud-init failed on %s %s. Look at /var/log/cloud-init-output.log there, then reset the VM.", r.VM, cloudInitFailure(string(out)))
	}
	if err != nil {
		return Errorf(EUNAVAILABLE, "cloud-init did not finish on %s (%s).", r.VM, firstLine(err.Error()))
	}
	if !strings.Contains(string(out), "done") {
		return Errorf(EUNAVAILABLE, "cloud-init reports %q on %s.", Escape(firstLine(string(out))), r.VM)
	}
	return nil
}

// rotateHostKey replaces the host key that travelled in user-data (readable
// by anything on the droplet through the metadata service) with one made on
// the VM, learnt over the pinned session. It runs in two phases, each
// recorded, so a crash at any point leaves a key the run can trust.
func (x *Runner) rotateHostKey(ctx context.Context, r *Run) error {
	pin, next := r.Data.HostKey, r.Data.HostKeyNext
	if next == "" {
		rem, err := x.dial(ctx, r, pin)
		if err != nil {
			return err
		}
		out, err := rem.Run(ctx, cmdNewHostKey)
		if err != nil {
			rem.Close()
			return fmt.Errorf("make new host key: %w", err)
		}
		next, err = NormalizePublicKey(string(out))
		if err != nil {
			rem.Close()
			return fmt.Errorf("new host key %q: %w", firstLine(string(out)), err)
		}
		r.Data.HostKeyNext = next
		if err := x.save(r); err != nil {
			rem.Close()
			return err
		}
		_, err = rem.Run(ctx, cmdActivateHostKey)
		rem.Close()
		if err != nil {
			return fmt.Errorf("activate new host key: %w", err)
		}
	} else if rem, err := x.d.SSH.Dial(ctx, x.addr(r), x.cfg.SSHUser, pin); err == nil {
		// Resumed before activation finished.
		_, err = rem.Run(ctx, cmdActivateHostKey)
		rem.Close()
		if err != nil {
			return fmt.Errorf("activate new host key: %w", err)
		}
	} else if !errors.Is(err, ErrHostKeyMismatch) {
		return err
	}
	// sshd reloads asynchronously: the old key may answer for a moment.
	var rem Remote
	err := x.poll(ctx, "sshd to present the new host key", func() (bool, error) {
		var err error
		rem, err = x.d.SSH.Dial(ctx, x.addr(r), x.cfg.SSHUser, next)
		if errors.Is(err, ErrHostKeyMismatch) || ErrorCode(err) == EUNAVAILABLE {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return err
	}
	rem.Close()
	r.Data.HostKey, r.Data.HostKeyNext = next, ""
	if err := x.save(r); err != nil {
		return err
	}
	vm, err := x.d.VMs.FindVM(ctx, r.VM)
	if err != nil {
		return err
	}
	if vm.DropletID == r.Data.DropletID {
		vm.HostKey = next
		return x.d.VMs.UpsertVM(ctx, vm)
	}
	return nil
}

// uploadPayload copies the rendered files: those under the user's home
// directly, system files through a staging directory and sudo install.
func (x *Runner) uploadPayload(ctx context.Context, r *Run) error {
	s, err := x.d.Students.FindStudent(ctx, r.VM)
	if err != nil {
		return err
	}
	files, err := renderFiles(s, x.fqdn(s.Name))
	if err != nil {
		return err
	}
	rem, err := x.dial(ctx, r, r.Data.HostKey)
	if err != nil {
		return err
	}
	defer rem.Close()
	home := "/home/" + x.cfg.SSHUser + "/"
	for _, f := range files {
		if strings.HasPrefix(f.Path, home) {
			if err := rem.Upload(ctx, f.Path, uint32(f.Mode.Perm()), f.Data); err != nil {
				return fmt.Errorf("upload %s: %w", f.Path, err)
			}
			continue
		}
		staged := home + ".cicf-staging/" + path.Base(f.Path)
		if err := rem.Upload(ctx, staged, 0o600, f.Data); err != nil {
			return fmt.Errorf("upload %s: %w", f.Path, err)
		}
		cmd := fmt.Sprintf("sudo install -D -m %o -o root -g root %s %s && rm -f %s",
			f.Mode.Perm(), ShellQuote(staged), ShellQuote(f.Path), ShellQuote(staged))
		if _, err := rem.Run(ctx, cmd); err != nil {
			return fmt.Errorf("install %s: %w", f.Path, err)
		}
	}
	return nil
}

func (x *Runner) startService(ctx context.Context, r *Run) error {
	rem, err := x.dial(ctx, r, r.Data.HostKey)
	if err != nil {
		return err
	}
	defer rem.Close()
	if _, err := rem.Run(ctx, cmdStartService); err != nil {
		return Errorf(EUNAVAILABLE, "JupyterLab did not start on %s (%s). `journalctl -u %s` there says why.", r.VM, firstLine(err.Error()), deploy.ServiceName)
	}
	return nil
}

// verify checks from outside what a student and an attacker would see:
// HTTPS asks for a password (401), and no port beyond the allowed is open.
func (x *Runner) verify(ctx context.Context, r *Run) error {
	ip, fqdn := r.Data.IPv4, x.fqdn(r.VM)
	var last string
	err := x.poll(ctx, "HTTPS to answer", func() (bool, error) {
		status, _, err := x.d.Prober.HTTPS(ctx, ip, fqdn)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		last = fmt.Sprintf("status %d", status)
		return status == 401, nil
	})
	if err != nil {
		return Errorf(EUNAVAILABLE, "https://%s did not ask for a password in time (last: %s).", fqdn, firstLine(last))
	}
	// ufw drops rather than refuses: without a per-port timeout a closed
	// port waits for the kernel's connect timeout.
	open, err := x.d.Prober.OpenPorts(ctx, ip, x.cfg.ScanPorts, 3*time.Second)
	if err != nil {
		return Errorf(EUNAVAILABLE, "The port check of %s did not finish (%s).", fqdn, firstLine(err.Error()))
	}
	var extra []string
	for _, p := range open {
		if !slices.Contains(x.cfg.AllowedPorts, p) {
			extra = append(extra, strconv.Itoa(p))
		}
	}
	if len(extra) > 0 {
		return Errorf(ECONFLICT, "%s has port(s) %s open beyond %v. Check `sudo ufw status` and published Docker ports there.", fqdn, strings.Join(extra, ", "), x.cfg.AllowedPorts)
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return clip(s, 200)
}
