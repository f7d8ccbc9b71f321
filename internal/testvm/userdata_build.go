package testvm

import (
	"fmt"
	"strings"
)

// UserData returns a minimal #cloud-config for tests that need a VM but not
// the bot's real payload: user cicf (groups sudo and docker, passwordless
// sudo, bash) with authorizedKeys, password login off, and the given host
// key (OpenSSH PEM and authorized_keys line).
func UserData(hostPrivatePEM, hostPublic string, authorizedKeys ...string) []byte {
	var b strings.Builder
	b.WriteString("#cloud-config\nssh_pwauth: false\nusers:\n  - name: cicf\n    groups: [sudo, docker]\n    shell: /bin/bash\n    sudo: ALL=(ALL) NOPASSWD:ALL\n    lock_passwd: true\n    ssh_authorized_keys:\n")
	for _, k := range authorizedKeys {
		fmt.Fprintf(&b, "      - %q\n", strings.TrimSpace(k))
	}
	b.WriteString("ssh_keys:\n  ed25519_private: |\n")
	for line := range strings.Lines(hostPrivatePEM) {
		b.WriteString("    " + line)
	}
	fmt.Fprintf(&b, "  ed25519_public: %q\n", strings.TrimSpace(hostPublic))
	return []byte(b.String())
}
