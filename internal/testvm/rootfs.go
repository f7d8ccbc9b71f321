package testvm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Paths inside the VM that the stand-ins and the host share.
const (
	recordsFile     = "/var/log/cicf-testvm/records.log"
	runcmdScript    = "/var/lib/cloud/instance/scripts/runcmd"
	cloudInitStatus = "/var/lib/cicf-testvm/cloud-init-status"
	sudoGroup       = "cicf-testvm-sudo" // NOPASSWD users, for the sudo stand-in
)

// rootfs writes into the overlay's upper directory, before the VM boots,
// what cloud-init would have done by the time sshd accepts logins. Files it
// does not write are the host's, read-only through the overlay.
type rootfs struct {
	upper  string
	ip     string
	passwd *accounts
}

func (r *rootfs) build(cfg *cloudConfig, userData []byte, realSudo bool) error {
	var err error
	if r.passwd, err = readAccounts(); err != nil {
		return err
	}
	var nopasswd []string
	for _, u := range cfg.Users {
		groups := u.Groups
		if u.Name == "cicf" { // as after the user-data's Docker install
			groups = append(groups, "sudo", "docker")
		}
		if err := r.passwd.addUser(u.Name, u.Gecos, u.Home, u.Shell, groups); err != nil {
			return err
		}
		if rules := strings.Join(u.Sudo, "\n"); strings.Contains(rules, "NOPASSWD") {
			nopasswd = append(nopasswd, u.Name)
		}
	}
	if !realSudo {
		if err := r.passwd.addGroup(sudoGroup, nopasswd...); err != nil {
			return err
		}
	}
	steps := []func() error{
		func() error { return r.writeAccounts() },
		func() error { return r.writeSSH(cfg) },
		func() error { return r.writeHomes(cfg.Users) },
		func() error { return r.writeSudoers(cfg.Users, realSudo) },
		func() error { return r.writeStandins(realSudo) },
		func() error { return r.writeHostname(cfg.Hostname, cfg.FQDN) },
		func() error { return r.writeFiles(cfg.WriteFiles) },
		func() error {
			return r.write("/var/lib/cloud/instance/user-data.txt", userData, 0o600, 0, 0)
		},
		func() error {
			script := "#!/bin/sh\n" + strings.Join(cfg.Runcmd, "\n") + "\n"
			return r.write(runcmdScript, []byte(script), 0o700, 0, 0)
		},
		func() error { return r.setCloudInitStatus("running") },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func (r *rootfs) writeAccounts() error {
	for _, name := range []string{"/etc/passwd", "/etc/group", "/etc/shadow"} {
		info, err := os.Stat(name)
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		if err := r.write(name, r.passwd.render(name), info.Mode().Perm(), int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	return nil
}

func (r *rootfs) writeSSH(cfg *cloudConfig) error {
	pwauth := cfg.PwAuth
	if pwauth == "" {
		pwauth = "no" // DigitalOcean's images with an SSH key
	}
	config := fmt.Sprintf(`# Written by the cicf test VM harness in place of Debian's sshd_config.
Include /etc/ssh/sshd_config.d/*.conf
ListenAddress %s
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
# PAM's session modules want systemd and audit, which the VM lacks.
UsePAM no
PasswordAuthentication %s
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
`, r.ip, pwauth)
	if err := r.write("/etc/ssh/sshd_config", []byte(config), 0o644, 0, 0); err != nil {
		return err
	}
	if err := r.write("/etc/ssh/ssh_host_ed25519_key", []byte(cfg.HostKey), 0o600, 0, 0); err != nil {
		return err
	}
	if err := r.write("/etc/ssh/ssh_host_ed25519_key.pub", []byte(cfg.HostPub+"\n"), 0o644, 0, 0); err != nil {
		return err
	}
	// cloud-init deletes the image's other host keys (ssh_deletekeys); in an
	// overlay, a whiteout hides the host's.
	others, _ := filepath.Glob("/etc/ssh/ssh_host_*")
	for _, p := range others {
		if !strings.Contains(p, "ed25519") {
			if err := syscall.Mknod(filepath.Join(r.upper, p), syscall.S_IFCHR, 0); err != nil {
				return fmt.Errorf("hide %s: %w", p, err)
			}
		}
	}
	return nil
}

func (r *rootfs) writeHomes(users []cloudUser) error {
	for _, u := range users {
		a := r.passwd.user(u.Name)
		if err := r.mkdir(a.home, 0o755, a.uid, a.gid); err != nil {
			return err
		}
		skel, _ := os.ReadDir("/etc/skel")
		for _, e := range skel {
			data, err := os.ReadFile(filepath.Join("/etc/skel", e.Name()))
			if err == nil && e.Type().IsRegular() {
				if err := r.write(filepath.Join(a.home, e.Name()), data, 0o644, a.uid, a.gid); err != nil {
					return err
				}
			}
		}
		if len(u.Keys) == 0 {
			continue
		}
		ssh := filepath.Join(a.home, ".ssh")
		if err := r.mkdir(ssh, 0o700, a.uid, a.gid); err != nil {
			return err
		}
		keys := strings.Join(u.Keys, "\n") + "\n"
		if err := r.write(filepath.Join(ssh, "authorized_keys"), []byte(keys), 0o600, a.uid, a.gid); err != nil {
			return err
		}
	}
	return nil
}

// setCloudInitStatus sets what the cloud-init stand-in reports: running,
// done or error.
func (r *rootfs) setCloudInitStatus(status string) error {
	return r.write(cloudInitStatus, []byte(status+"\n"), 0o644, 0, 0)
}

func (r *rootfs) writeHostname(name, fqdn string) error {
	if err := r.write("/etc/hostname", []byte(name+"\n"), 0o644, 0, 0); err != nil {
		return err
	}
	names := name
	if fqdn != "" && fqdn != name {
		names = fqdn + " " + name // manage_etc_hosts: hostname -f answers the FQDN
	}
	hosts := fmt.Sprintf("127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n", names)
	return r.write("/etc/hosts", []byte(hosts), 0o644, 0, 0)
}

func (r *rootfs) writeFiles(files []writeFile) error {
	for _, f := range files {
		uid, gid, err := r.passwd.owner(f.Owner)
		if err != nil {
			return fmt.Errorf("write_files %s: %w", f.Path, err)
		}
		data := f.Content
		if f.Append {
			old, _ := os.ReadFile(filepath.Join(r.upper, f.Path))
			if old == nil {
				old, _ = os.ReadFile(f.Path)
			}
			data = append(old, data...)
		}
		if err := r.write(f.Path, data, f.Mode, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// write creates the VM's file path in the upper directory.
func (r *rootfs) write(path string, data []byte, mode os.FileMode, uid, gid int) error {
	if err := r.mkdir(filepath.Dir(path), 0o755, 0, 0); err != nil {
		return err
	}
	full := filepath.Join(r.upper, path)
	if err := os.WriteFile(full, data, mode); err != nil {
		return err
	}
	if err := os.Chmod(full, mode); err != nil {
		return err
	}
	return os.Lchown(full, uid, gid)
}

// mkdir creates the VM's directory path and its parents in the upper
// directory. A directory the host has keeps the host's mode and owner (an
// upper directory's attributes win in the overlay); a new one gets mode,
// uid and gid (its new parents get 0755 root).
func (r *rootfs) mkdir(path string, mode os.FileMode, uid, gid int) error {
	if path == "/" {
		return nil
	}
	full := filepath.Join(r.upper, path)
	if _, err := os.Lstat(full); err == nil {
		return nil
	}
	if err := r.mkdir(filepath.Dir(path), 0o755, 0, 0); err != nil {
		return err
	}
	if info, err := os.Stat(path); err == nil {
		st := info.Sys().(*syscall.Stat_t)
		mode, uid, gid = info.Mode().Perm()|info.Mode()&os.ModeSticky, int(st.Uid), int(st.Gid)
	}
	if err := os.Mkdir(full, mode); err != nil {
		return err
	}
	if err := os.Chmod(full, mode); err != nil {
		return err
	}
	return os.Lchown(full, uid, gid)
}
