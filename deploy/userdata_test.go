package deploy

import (
	"bytes"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// cloudConfig is the part of the user-data this test asserts on, as PyYAML
// reads it.
type cloudConfig struct {
	Hostname           string            `json:"hostname"`
	FQDN               string            `json:"fqdn"`
	SSHPwauth          *bool             `json:"ssh_pwauth"`
	DisableRoot        *bool             `json:"disable_root"`
	AllowPublicSSHKeys *bool             `json:"allow_public_ssh_keys"`
	SSHDeleteKeys      *bool             `json:"ssh_deletekeys"`
	SSHKeys            map[string]string `json:"ssh_keys"`
	Users              []struct {
		Name              string   `json:"name"`
		Shell             string   `json:"shell"`
		Groups            []string `json:"groups"`
		Sudo              string   `json:"sudo"`
		LockPasswd        *bool    `json:"lock_passwd"`
		SSHAuthorizedKeys []string `json:"ssh_authorized_keys"`
	} `json:"users"`
	WriteFiles []struct {
		Path    string `json:"path"`
		Content string `json:"content"`
		Defer   bool   `json:"defer"`
	} `json:"write_files"`
	Apt           map[string]any `json:"apt"`
	PackageUpdate *bool          `json:"package_update"`
	Packages      []string       `json:"packages"`
	Runcmd        []any          `json:"runcmd"`
}

// writeFile returns the content of the write_files entry for path, and
// whether it is deferred.
func (cc *cloudConfig) writeFile(t *testing.T, path string) (string, bool) {
	t.Helper()
	for _, f := range cc.WriteFiles {
		if f.Path == path {
			return f.Content, f.Defer
		}
	}
	t.Fatalf("write_files has no %s", path)
	return "", false
}

func TestUserDataSchema(t *testing.T) {
	bin := needTool(t, "cloud-init", "cloud-init")
	// A key comment with YAML-significant characters must stay a comment.
	p := mustParams(t)
	p.StudentKey += " #1: laptop"
	pl := mustRender(t, p)
	path := writeTemp(t, "user-data.yaml", pl.UserData, 0o600)
	out, err := exec.Command(bin, "schema", "-c", path).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("Valid cloud-config")) {
		t.Fatalf("cloud-init schema -c user-data: %v\n%s", err, out)
	}
}

func TestUserDataContent(t *testing.T) {
	p := mustParams(t)
	p.StudentKey += " #1: laptop"
	pl := mustRender(t, p)
	if !bytes.HasPrefix(pl.UserData, []byte("#cloud-config\n")) {
		t.Fatalf("user-data starts with %q, want #cloud-config", pl.UserData[:20])
	}
	var cc cloudConfig
	yamlToJSON(t, pl.UserData, &cc)

	if cc.Hostname != "emma" || cc.FQDN != "emma.cicf.cloud" {
		t.Errorf("hostname, fqdn = %q, %q, want emma, emma.cicf.cloud", cc.Hostname, cc.FQDN)
	}
	for name, tt := range map[string]struct {
		got  *bool
		want bool
	}{
		"ssh_pwauth":            {cc.SSHPwauth, false},
		"disable_root":          {cc.DisableRoot, true},
		"allow_public_ssh_keys": {cc.AllowPublicSSHKeys, false},
		"ssh_deletekeys":        {cc.SSHDeleteKeys, true},
	} {
		if tt.got == nil {
			t.Errorf("%s is missing, want %v", name, tt.want)
		} else if *tt.got != tt.want {
			t.Errorf("%s = %v, want %v", name, *tt.got, tt.want)
		}
	}

	if len(cc.Users) != 1 {
		t.Fatalf("users = %+v, want only cicf", cc.Users)
	}
	u := cc.Users[0]
	wantKeys := []string{p.StudentKey, p.BotKey}
	if u.Name != "cicf" || u.Shell != "/bin/bash" || u.Sudo != "ALL=(ALL) NOPASSWD:ALL" ||
		u.LockPasswd == nil || !*u.LockPasswd || !reflect.DeepEqual(u.SSHAuthorizedKeys, wantKeys) {
		t.Errorf("user = %+v, want cicf, bash, NOPASSWD sudo, locked password, keys %q", u, wantKeys)
	}
	// The docker group is the package's (a system group); made here it
	// would be a plain one (gid 1000, issue 9).
	if !slices.Equal(u.Groups, []string{"sudo"}) {
		t.Errorf("cicf groups = %q, want only sudo", u.Groups)
	}

	// A block scalar: the .pub file ends in a newline (issue 9).
	if want := strings.Join(strings.Fields(p.HostKeyPublic)[:2], " ") + "\n"; cc.SSHKeys["ed25519_public"] != want {
		t.Errorf("ssh_keys.ed25519_public = %q, want the host key %q with a newline", cc.SSHKeys["ed25519_public"], want)
	}
	if len(cc.SSHKeys) != 2 {
		t.Errorf("ssh_keys has %d entries, want ed25519_private and ed25519_public only", len(cc.SSHKeys))
	}
	checkHostKeyFile(t, cc.SSHKeys["ed25519_private"], p.HostKeyPublic)

	dropIn, _ := cc.writeFile(t, "/etc/ssh/sshd_config.d/50-cicf.conf")
	for _, line := range []string{
		"PasswordAuthentication no", "KbdInteractiveAuthentication no",
		"PermitRootLogin no", "HostKey /etc/ssh/ssh_host_ed25519_key",
	} {
		if !slices.Contains(strings.Split(dropIn, "\n"), line) {
			t.Errorf("sshd drop-in lacks %q; it is:\n%s", line, dropIn)
		}
	}
	if n := strings.Count(dropIn, "HostKey "); n != 1 {
		t.Errorf("sshd drop-in has %d HostKey lines, want 1", n)
	}

	checkPackages(t, &cc)
}

// checkPackages pins the order issue 9 asks for: ufw from Debian alone in
// the packages module; Docker's source written only after it (deferred), so
// a Docker failure cannot keep ufw away; no apt module fetching a key.
func checkPackages(t *testing.T, cc *cloudConfig) {
	t.Helper()
	if cc.Apt != nil {
		t.Errorf("apt = %v, want no apt module (it fetches keys from a keyserver)", cc.Apt)
	}
	if cc.PackageUpdate == nil || !*cc.PackageUpdate || !slices.Equal(cc.Packages, []string{"ufw"}) {
		t.Errorf("package_update, packages = %v, %q; want true, [ufw]", cc.PackageUpdate, cc.Packages)
	}
	list, deferred := cc.writeFile(t, "/etc/apt/sources.list.d/docker.list")
	if want := "deb [signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/debian bookworm stable\n"; list != want || !deferred {
		t.Errorf("docker.list = %q (deferred %v), want %q deferred", list, deferred, want)
	}
	if key, _ := cc.writeFile(t, "/etc/apt/keyrings/docker.asc"); key != dockerKey {
		t.Errorf("/etc/apt/keyrings/docker.asc differs from the embedded Docker key:\n%s", key)
	}
	install, _ := cc.writeFile(t, "/usr/local/sbin/cicf-docker")
	for _, want := range []string{"set -eu\n", "apt-get install -y -q docker-ce docker-ce-cli containerd.io docker-compose-plugin\n", "usermod -aG docker cicf\n"} {
		if !strings.Contains(install, want) {
			t.Errorf("cicf-docker lacks %q:\n%s", want, install)
		}
	}
	want := []any{"set -e", []any{"/usr/local/sbin/cicf-firewall"}, []any{"/usr/local/sbin/cicf-docker"}}
	if len(cc.Runcmd) < len(want) || !reflect.DeepEqual(cc.Runcmd[:len(want)], want) {
		t.Errorf("runcmd starts %v, want %v: set -e, firewall before Docker", cc.Runcmd, want)
	}
}

// checkHostKeyFile has OpenSSH read the private key as cloud-init would
// write it, so a YAML indentation slip cannot hand sshd an unreadable key.
func checkHostKeyFile(t *testing.T, private, wantPublic string) {
	t.Helper()
	bin := needTool(t, "ssh-keygen", "openssh-client")
	path := writeTemp(t, "ssh_host_ed25519_key", []byte(private), 0o600)
	out, err := exec.Command(bin, "-y", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -y on ssh_keys.ed25519_private: %v\n%s", err, out)
	}
	got, _, _, _, err := ssh.ParseAuthorizedKey(out)
	if err != nil {
		t.Fatalf("ssh-keygen -y printed %q: %v", out, err)
	}
	want, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(wantPublic))
	if !bytes.Equal(got.Marshal(), want.Marshal()) {
		t.Errorf("host private key in user-data derives %s, want %s", ssh.FingerprintSHA256(got), ssh.FingerprintSHA256(want))
	}
}

// TestUserDataKeepsPayloadOut guards the split between user-data (readable
// on the droplet through the metadata service) and the uploaded files.
func TestUserDataKeepsPayloadOut(t *testing.T) {
	p := mustParams(t)
	pl := mustRender(t, p)
	for _, secret := range []string{p.CaddyPasswordHash, "CADDY_PASSWORD", "basicauth", "reverse_proxy", "services:", "ExecStart"} {
		if bytes.Contains(pl.UserData, []byte(secret)) {
			t.Errorf("user-data contains %q, which belongs in the uploaded payload", secret)
		}
	}
}
