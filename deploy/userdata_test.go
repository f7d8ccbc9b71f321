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
	} `json:"write_files"`
	Apt struct {
		Sources map[string]struct {
			Source string `json:"source"`
			KeyID  string `json:"keyid"`
		} `json:"sources"`
	} `json:"apt"`
	Packages []string   `json:"packages"`
	Runcmd   [][]string `json:"runcmd"`
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
	if !slices.Contains(u.Groups, "sudo") || !slices.Contains(u.Groups, "docker") {
		t.Errorf("cicf groups = %q, want sudo and docker", u.Groups)
	}

	if cc.SSHKeys["ed25519_public"] != strings.Join(strings.Fields(p.HostKeyPublic)[:2], " ") {
		t.Errorf("ssh_keys.ed25519_public = %q, want the host key %q", cc.SSHKeys["ed25519_public"], p.HostKeyPublic)
	}
	if len(cc.SSHKeys) != 2 {
		t.Errorf("ssh_keys has %d entries, want ed25519_private and ed25519_public only", len(cc.SSHKeys))
	}
	checkHostKeyFile(t, cc.SSHKeys["ed25519_private"], p.HostKeyPublic)

	var dropIn string
	for _, f := range cc.WriteFiles {
		if f.Path == "/etc/ssh/sshd_config.d/50-cicf.conf" {
			dropIn = f.Content
		}
	}
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

	docker, ok := cc.Apt.Sources["docker.list"]
	if !ok || docker.KeyID != "9DC858229FC7DD38854AE2D88D81803C0EBFCD88" ||
		!strings.Contains(docker.Source, "https://download.docker.com/linux/debian bookworm stable") ||
		!strings.Contains(docker.Source, "signed-by=$KEY_FILE") {
		t.Errorf("apt source docker.list = %+v, want Docker's bookworm repo signed by its key", docker)
	}
	for _, pkg := range []string{"docker-ce", "docker-ce-cli", "containerd.io", "docker-compose-plugin", "ufw"} {
		if !slices.Contains(cc.Packages, pkg) {
			t.Errorf("packages = %q, want %s among them", cc.Packages, pkg)
		}
	}

	var ufw []string
	for _, c := range cc.Runcmd {
		if len(c) > 0 && c[0] == "ufw" {
			ufw = append(ufw, strings.Join(c, " "))
		}
	}
	wantUFW := []string{
		"ufw default deny incoming", "ufw default allow outgoing",
		"ufw allow 22/tcp", "ufw allow 80/tcp", "ufw allow 443/tcp",
		"ufw --force enable", // last: rules in place before it bites
	}
	if !reflect.DeepEqual(ufw, wantUFW) {
		t.Errorf("ufw commands = %q, want %q", ufw, wantUFW)
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
