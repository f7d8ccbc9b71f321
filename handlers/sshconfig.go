package handlers

import (
	"context"
	"crypto/rsa"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/tasks"
)

func (r *Router) sshConfigCommand() *Command {
	return &Command{
		Verb: "ssh-config",
		Usages: []Usage{
			{tasks.RoleStudent, "", "the ~/.ssh/config block and known_hosts line for your VM"},
			{tasks.RoleInstructor, "NAME", "the same for a student's VM"},
		},
		Help: "Prints the block for `~/.ssh/config` and the `known_hosts` line with your VM's pinned host key, so that `ssh` checks the VM's identity " +
			"from the first login instead of asking you to trust it. After a reset it also gives the `ssh-keygen -R` line that removes the old key.",
		Examples: []string{"/cicf ssh-config", "/cicf ssh-config emma"},
		Run:      r.sshConfig,
	}
}

func (r *Router) sshConfig(ctx context.Context, req *Request) (*Reply, error) {
	c := req.Caller
	var name string
	switch {
	case c.Role != tasks.RoleInstructor:
		if len(req.Args) > 0 && !(strings.EqualFold(req.Args[0].Text, c.Student.Name) || req.Args[0].UserID == c.UserID) {
			return nil, tasks.Errorf(tasks.EFORBIDDEN, "You can only get the SSH settings of your own VM: type `/cicf ssh-config`.")
		}
		name = c.Student.Name
	case len(req.Args) == 1:
		n, err := r.studentName(ctx, req.Args[0])
		if err != nil {
			return nil, err
		}
		name = n
	case len(req.Args) == 0 && c.Student != nil:
		name = c.Student.Name
	default:
		return nil, tasks.Errorf(tasks.EINVALID, "Type `/cicf ssh-config NAME`, e.g. `/cicf ssh-config emma`.")
	}
	return r.sshConfigReply(ctx, name)
}

// sshConfigReply is the ssh-config answer for name's VM; the welcome
// message reuses it.
func (r *Router) sshConfigReply(ctx context.Context, name string) (*Reply, error) {
	s, err := r.students.FindStudent(ctx, name)
	if err != nil {
		return nil, err
	}
	vm, err := r.fleet.VMs.FindVM(ctx, name)
	if err != nil && tasks.ErrorCode(err) != tasks.ENOTFOUND {
		return nil, err
	}
	fqdn := r.fleet.FQDN(name)
	if vm == nil || vm.HostKey == "" {
		return Textf("`%s` has no VM with a pinned host key yet, so there is nothing to trust. `/cicf status` shows where it is; try again once it is running.", Escape(fqdn)), nil
	}
	cfg := SSHConfigFor(fqdn, name, s.PublicKey, vm.HostKey)
	rep := Textf("*SSH to %s* — 1. Add this to `~/.ssh/config`:", Escape(fqdn)).AddMono(Escape(cfg.Block))
	step := "2. Add this line to `~/.ssh/known_hosts`"
	if !vm.LastResetAt.IsZero() {
		// The old line would make ssh refuse the new VM, rightly.
		rep.Add(fmt.Sprintf("2. The VM was reset on %s UTC, so it has a new host key. Remove the old one first:", vm.LastResetAt.UTC().Format("2006-01-02 15:04"))).
			AddMono(Escape(cfg.Remove))
		step = "3. Then add this line to `~/.ssh/known_hosts`"
	}
	rep.Add(step + " (the VM's pinned host key: `ssh` then never asks you to trust an unknown key):").AddMono(Escape(cfg.KnownHosts))
	if s.PublicKey == "" {
		rep.Add("The bot has no SSH public key of yours yet, so no key logs in: first `/cicf key ssh-ed25519 AAAA… you@laptop`.")
	}
	rep.Add(fmt.Sprintf("`ssh-keygen -lf ~/.ssh/known_hosts` shows it as `%s`; the card of `/cicf status` shows the same. Log in with `ssh %s`. "+
		"If ssh ever says REMOTE HOST IDENTIFICATION HAS CHANGED, stop and tell an instructor.", Escape(cfg.Fingerprint), Escape(name)))
	return rep, nil
}

// SSHConfig is what a student adds to their ~/.ssh to reach their VM.
type SSHConfig struct {
	Block       string // the ~/.ssh/config block
	KnownHosts  string // the known_hosts line of the pinned host key
	Fingerprint string // that line as `ssh-keygen -lf` prints it
	Remove      string // the command that removes an older line for the VM
}

// SSHConfigFor returns the settings for the VM fqdn, reached also as alias,
// whose pinned host key is hostKey, for a student whose public key is
// studentKey (it picks the IdentityFile). hostKey must parse.
func SSHConfigFor(fqdn, alias, studentKey, hostKey string) SSHConfig {
	fields := strings.Fields(hostKey)
	known := fqdn
	if len(fields) >= 2 {
		known += " " + fields[0] + " " + fields[1]
	}
	return SSHConfig{
		Block: fmt.Sprintf("Host %s %s\n    HostName %s\n    User cicf\n    IdentityFile %s\n    IdentitiesOnly yes\n    StrictHostKeyChecking yes\n",
			fqdn, alias, fqdn, identityFile(studentKey)),
		KnownHosts:  known,
		Fingerprint: keygenLine(hostKey, fqdn),
		Remove:      "ssh-keygen -R " + fqdn,
	}
}

// identityFile is where ssh-keygen puts the private half of key by default.
func identityFile(key string) string {
	switch t, _, _ := strings.Cut(key, " "); {
	case t == ssh.KeyAlgoRSA:
		return "~/.ssh/id_rsa"
	case strings.HasPrefix(t, "ecdsa-"):
		return "~/.ssh/id_ecdsa"
	}
	return "~/.ssh/id_ed25519"
}

// keygenLine renders key as `ssh-keygen -lf` prints a known_hosts line:
// "BITS SHA256:… HOST (TYPE)". It returns "" if key does not parse.
func keygenLine(key, host string) string {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(key))
	if err != nil {
		return ""
	}
	bits := 256
	switch pk.Type() {
	case ssh.KeyAlgoECDSA384:
		bits = 384
	case ssh.KeyAlgoECDSA521:
		bits = 521
	case ssh.KeyAlgoRSA:
		if ck, ok := pk.(ssh.CryptoPublicKey); ok {
			if k, ok := ck.CryptoPublicKey().(*rsa.PublicKey); ok {
				bits = k.N.BitLen()
			}
		}
	}
	return fmt.Sprintf("%d %s %s (%s)", bits, ssh.FingerprintSHA256(pk), host, keyTypeName(pk.Type()))
}
