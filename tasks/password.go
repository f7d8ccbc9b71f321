package tasks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cicf/cicf-bot/deploy"
)

// cmdRestartService makes Caddy read the new .env; a constant, like every
// remote command.
const cmdRestartService = "sudo systemctl restart " + deploy.ServiceName

// ValidatePassword returns EINVALID with a message naming the rule pw
// breaks: at least deploy.MinPasswordLen characters, at most
// deploy.MaxPasswordBytes bytes (bcrypt's limit), and not the login name,
// the student's name or the VM's name. The message never repeats pw.
func ValidatePassword(pw, name, fqdn string) error {
	switch {
	case utf8.RuneCountInString(pw) < deploy.MinPasswordLen:
		return Errorf(EINVALID, "Use at least %d characters (a few unrelated words make a good one).", deploy.MinPasswordLen)
	case len(pw) > deploy.MaxPasswordBytes:
		return Errorf(EINVALID, "Use at most %d bytes (bcrypt ignores the rest); accented letters and emoji count as 2–4.", deploy.MaxPasswordBytes)
	case !utf8.ValidString(pw) || strings.ContainsFunc(pw, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return Errorf(EINVALID, "Use letters, digits, spaces and punctuation only.")
	}
	for _, bad := range []string{deploy.DefaultCaddyUser, name, fqdn, "https://" + fqdn, "https://" + fqdn + "/"} {
		if strings.EqualFold(strings.TrimSpace(pw), bad) {
			return Errorf(EINVALID, "Do not use the user name or the VM's name as the password: anyone could guess it.")
		}
	}
	return nil
}

// PasswordUser is the JupyterLab (Caddy basic auth) user name.
const PasswordUser = deploy.DefaultCaddyUser

// SetPassword sets the JupyterLab password of name's VM: it hashes pw with
// bcrypt, writes .env over the pinned SSH session, restarts the service
// and checks from outside that the new password opens the page while no
// password and a wrong one get 401. pw goes nowhere else: not in the
// store, a log or an error. It returns EINVALID for a bad password,
// ECONFLICT while a run works on the VM, EUNAVAILABLE when the VM has no
// pinned key or does not answer, and ErrHostKeyMismatch in the chain when
// the VM presents another host key.
func (x *Runner) SetPassword(ctx context.Context, name, pw string) error {
	fqdn := x.fqdn(name)
	if err := ValidatePassword(pw, name, fqdn); err != nil {
		return err
	}
	if r, err := x.d.Runs.ActiveRun(ctx, name); err == nil {
		return Errorf(ECONFLICT, "A %s is in progress; set the password once it is done (it starts a fresh VM, whose password you set anew).", r.Title())
	} else if ErrorCode(err) != ENOTFOUND {
		return err
	}
	vm, err := x.d.VMs.FindVM(ctx, name)
	if err != nil {
		return err
	}
	if vm.HostKey == "" || vm.IPv4 == "" || vm.Status != "active" {
		return Errorf(EUNAVAILABLE, "%s is not running with a pinned host key yet. `/cicf status` shows where it is.", fqdn)
	}
	hash, err := deploy.HashPassword(pw)
	if err != nil {
		if errors.Is(err, deploy.ErrInvalid) {
			return Errorf(EINVALID, "That password cannot be used: %v.", err)
		}
		return err
	}
	env, err := renderEnv(name, fqdn, hash)
	if err != nil {
		return err
	}
	rem, err := x.d.SSH.Dial(ctx, net.JoinHostPort(vm.IPv4, strconv.Itoa(x.cfg.SSHPort)), x.cfg.SSHUser, vm.HostKey)
	if err != nil {
		return err
	}
	defer rem.Close()
	if err := rem.Upload(ctx, env.Path, uint32(env.Mode.Perm()), env.Data); err != nil {
		return fmt.Errorf("upload %s: %w", env.Path, err)
	}
	if _, err := rem.Run(ctx, cmdRestartService); err != nil {
		return Errorf(EUNAVAILABLE, "The password is written, but JupyterLab did not restart on %s (%s). Try again in a minute.", fqdn, firstLine(err.Error()))
	}
	return x.verifyPassword(ctx, vm.IPv4, fqdn, pw)
}

// renderEnv renders the .env that holds the password hash: the one place
// that knows how, so the payload renderer can change under it.
func renderEnv(name, fqdn, hash string) (deploy.File, error) {
	files, err := deploy.RenderFiles(deploy.FilesParams{Name: name, FQDN: fqdn, CaddyUser: PasswordUser, CaddyPasswordHash: hash})
	if err != nil {
		return deploy.File{}, fmt.Errorf("render .env: %w", err)
	}
	for _, f := range files {
		if f.Path == deploy.EnvPath {
			return f, nil
		}
	}
	return deploy.File{}, fmt.Errorf("render .env: the payload has no %s", deploy.EnvPath)
}

// verifyPassword waits until the new password opens the page, then checks
// that no password and a wrong one are refused (401).
func (x *Runner) verifyPassword(ctx context.Context, ip, fqdn, pw string) error {
	ctx, cancel := context.WithTimeout(ctx, x.cfg.VerifyTimeout)
	defer cancel()
	var last string
	err := x.poll(ctx, "the new password to open "+fqdn, func() (bool, error) {
		status, err := x.d.Prober.HTTPSAuth(ctx, ip, fqdn, PasswordUser, pw)
		if err != nil {
			last = firstLine(err.Error())
			return false, nil
		}
		last = fmt.Sprintf("status %d", status)
		return status != 401, nil
	})
	if err != nil {
		return Errorf(EUNAVAILABLE, "https://%s did not accept the new password in time (last: %s). Try again in a minute.", fqdn, last)
	}
	status, _, err := x.d.Prober.HTTPS(ctx, ip, fqdn)
	if err != nil {
		return Errorf(EUNAVAILABLE, "https://%s did not answer a request without a password (%s). Try again in a minute.", fqdn, firstLine(err.Error()))
	}
	if status != 401 {
		return Errorf(ECONFLICT, "https://%s answered %d without a password: JupyterLab may be exposed. Tell an instructor.", fqdn, status)
	}
	// A random wrong password: the check must not pass because the one
	// tried happens to be right.
	status, err = x.d.Prober.HTTPSAuth(ctx, ip, fqdn, PasswordUser, randomPassword())
	if err != nil {
		return Errorf(EUNAVAILABLE, "https://%s did not answer a request with a wrong password (%s). Try again in a minute.", fqdn, firstLine(err.Error()))
	}
	if status != 401 {
		return Errorf(ECONFLICT, "https://%s answered %d to a wrong password: it does not check passwords. Tell an instructor.", fqdn, status)
	}
	return nil
}
