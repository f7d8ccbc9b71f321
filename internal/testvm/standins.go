package testvm

import (
	"embed"
	"fmt"
	"os"
	"strings"
)

// standins are the scripts that take the place, on a test VM, of programs
// that cannot run here; see vm.Records.
//
//go:embed standins
var standins embed.FS

func (r *rootfs) writeSudoers(users []cloudUser, realSudo bool) error {
	var b strings.Builder
	b.WriteString("# Created by cloud-init v. 22.4.2\n")
	for _, u := range users {
		if len(u.Sudo) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n# User rules for %s\n", u.Name)
		for _, rule := range u.Sudo {
			fmt.Fprintf(&b, "%s %s\n", u.Name, rule)
		}
	}
	if err := r.write("/etc/sudoers.d/90-cloud-init-users", []byte(b.String()), 0o440, 0, 0); err != nil {
		return err
	}
	if realSudo {
		return nil
	}
	// The sudo stand-in goes through su; let su trust the NOPASSWD group.
	pam, err := os.ReadFile("/etc/pam.d/su")
	if err != nil {
		return fmt.Errorf("sudo stand-in needs su's PAM configuration: %w", err)
	}
	trust := "auth sufficient pam_wheel.so trust use_uid group=" + sudoGroup + "\n"
	return r.write("/etc/pam.d/su", append([]byte(trust), pam...), 0o644, 0, 0)
}

func (r *rootfs) writeStandins(realSudo bool) error {
	entries, err := standins.ReadDir("standins")
	if err != nil {
		return err
	}
	for _, e := range entries {
		data, err := standins.ReadFile("standins/" + e.Name())
		if err != nil {
			return err
		}
		path, mode := "/usr/local/bin/"+e.Name(), os.FileMode(0o755)
		switch {
		case strings.HasSuffix(e.Name(), ".sh"):
			path, mode = "/usr/local/lib/cicf-testvm/"+e.Name(), 0o644
		case e.Name() == "sudo" && realSudo:
			continue
		}
		if err := r.write(path, data, mode, 0, 0); err != nil {
			return err
		}
	}
	rules := `22/tcp                     ALLOW       Anywhere
80/tcp                     ALLOW       Anywhere
443/tcp                    ALLOW       Anywhere
22/tcp (v6)                ALLOW       Anywhere (v6)
80/tcp (v6)                ALLOW       Anywhere (v6)
443/tcp (v6)               ALLOW       Anywhere (v6)
`
	if err := r.write("/var/lib/cicf-testvm/ufw-rules", []byte(rules), 0o644, 0, 0); err != nil {
		return err
	}
	if err := r.write("/var/lib/cicf-testvm/ufw-state", []byte("active\n"), 0o644, 0, 0); err != nil {
		return err
	}
	// Every user's stand-in appends here.
	return r.write(recordsFile, nil, 0o666, 0, 0)
}
