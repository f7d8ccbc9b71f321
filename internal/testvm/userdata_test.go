package testvm

import (
	"os"
	"slices"
	"strings"
	"testing"
)

const keys = `ssh_keys:
  ed25519_private: |
    -----BEGIN OPENSSH PRIVATE KEY-----
    AAAA
    -----END OPENSSH PRIVATE KEY-----
  ed25519_public: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl
`

func TestParseUserData(t *testing.T) {
	tests := []struct {
		name, yaml string
		check      func(*cloudConfig) bool
	}{
		{"groups as a string, fqdn gives the hostname",
			"fqdn: emma.cicf.cloud\nusers:\n  - default\n  - name: cicf\n    groups: sudo, docker\n",
			func(c *cloudConfig) bool {
				return c.Hostname == "emma" && len(c.Users) == 1 && slices.Equal(c.Users[0].Groups, []string{"sudo", "docker"})
			}},
		{"sudo rule with commas stays one rule",
			"users:\n  - name: cicf\n    sudo: 'ALL=(ALL) NOPASSWD: /bin/ls, /bin/cat'\n",
			func(c *cloudConfig) bool {
				return slices.Equal(c.Users[0].Sudo, []string{"ALL=(ALL) NOPASSWD: /bin/ls, /bin/cat"})
			}},
		{"sudo false",
			"users:\n  - name: cicf\n    sudo: false\n",
			func(c *cloudConfig) bool { return c.Users[0].Sudo == nil }},
		{"ssh_pwauth as a string",
			"ssh_pwauth: 'true'\n",
			func(c *cloudConfig) bool { return c.PwAuth == "yes" }},
		{"write_files gzip, octal permissions unquoted",
			"write_files:\n  - path: /etc/x\n    encoding: gz+b64\n    content: H4sIAAAAAAAAA8tIzcnJBwCGphA2BQAAAA==\n    permissions: 0600\n",
			func(c *cloudConfig) bool {
				f := c.WriteFiles[0]
				return string(f.Content) == "hello" && f.Mode == os.FileMode(0o600)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseUserData([]byte("#cloud-config\n" + tt.yaml + keys))
			if err != nil {
				t.Fatalf("parseUserData = %v", err)
			}
			if !tt.check(c) {
				t.Errorf("parseUserData(%q) = %+v", tt.yaml, c)
			}
			if !strings.HasPrefix(c.HostPub, "ssh-ed25519 ") || !strings.Contains(c.HostKey, "BEGIN OPENSSH") {
				t.Errorf("host key not read: %+v", c)
			}
		})
	}
}

func TestParseUserDataErrors(t *testing.T) {
	for _, ud := range []string{
		"users: []\n" + keys,                                  // no #cloud-config line
		"#cloud-config\nusers:\n  - name: cicf\n",             // no host key
		"#cloud-config\n: : :\n",                              // not YAML
		"#cloud-config\nusers:\n  - groups: sudo\n" + keys,    // user without a name
		"#cloud-config\nwrite_files:\n  - path: rel\n" + keys, // relative path
	} {
		if _, err := parseUserData([]byte(ud)); err == nil {
			t.Errorf("parseUserData(%q) succeeded, want an error", ud)
		}
	}
}
