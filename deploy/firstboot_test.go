package deploy

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// dockerFingerprint is the one Docker publishes for its apt repository key
// (https://docs.docker.com/engine/install/debian/).
const dockerFingerprint = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"

// TestDockerKeyFingerprint has the real gpg read the key as the VM's apt
// gets it (parsed out of the rendered user-data) and compares the primary
// key's fingerprint with Docker's published one.
func TestDockerKeyFingerprint(t *testing.T) {
	gpg := needTool(t, "gpg", "gnupg")
	var cc cloudConfig
	yamlToJSON(t, mustRender(t, mustParams(t)).UserData, &cc)
	key, _ := cc.writeFile(t, "/etc/apt/keyrings/docker.asc")
	file := writeTemp(t, "docker.asc", []byte(key), 0o644)
	cmd := exec.Command(gpg, "--batch", "--with-colons", "--show-keys", file)
	cmd.Env = isolatedEnv(t, "GNUPGHOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg --show-keys: %v\n%s", err, out)
	}
	var pubs, fprs []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, ":")
		switch f[0] {
		case "pub":
			pubs = append(pubs, f[4])
		case "fpr":
			fprs = append(fprs, f[9])
		}
	}
	// One primary key, whose fingerprint is the first fpr record.
	if len(pubs) != 1 || len(fprs) == 0 || fprs[0] != dockerFingerprint {
		t.Errorf("gpg reads primary keys %q with fingerprints %q, want one key %s", pubs, fprs, dockerFingerprint)
	}
}

// TestUserDataNamesStayStrings renders names YAML 1.1 reads as booleans or
// null when bare, and checks that PyYAML (what cloud-init uses) reads every
// value back as the same string, and that cloud-init's schema accepts it
// (issue 8, defect 8).
func TestUserDataNamesStayStrings(t *testing.T) {
	bin := needTool(t, "cloud-init", "cloud-init")
	for _, name := range []string{"on", "off", "yes", "no", "null", "true", "false", "y", "n"} {
		t.Run(name, func(t *testing.T) {
			p := mustParams(t)
			p.Name, p.FQDN = name, name+".cicf.cloud"
			pl := mustRender(t, p)
			var doc map[string]any
			yamlToJSON(t, pl.UserData, &doc)
			for key, want := range map[string]string{"hostname": name, "fqdn": name + ".cicf.cloud"} {
				if got, ok := doc[key].(string); !ok || got != want {
					t.Errorf("%s = %#v (%T), want the string %q", key, doc[key], doc[key], want)
				}
			}
			path := writeTemp(t, "user-data.yaml", pl.UserData, 0o600)
			if out, err := exec.Command(bin, "schema", "-c", path).CombinedOutput(); err != nil || !bytes.Contains(out, []byte("Valid cloud-config")) {
				t.Errorf("cloud-init schema -c user-data for %q: %v\n%s", name, err, out)
			}
		})
	}
	// "~" is YAML's other null; it is no DNS label, so it never gets here.
	p := mustParams(t)
	p.Name, p.FQDN = "~", "~.cicf.cloud"
	if _, err := Render(p); !errors.Is(err, ErrInvalid) {
		t.Errorf("Render(name ~) error = %v, want ErrInvalid", err)
	}
}

// TestFirewallScriptFailsLoudly runs the firewall script from the user-data
// with a recording ufw: every rule goes in before enable, and any failure
// (ufw missing, a rule refused, the firewall not active afterwards) makes it
// exit non-zero, which fails runcmd and so the boot.
func TestFirewallScriptFailsLoudly(t *testing.T) {
	var cc cloudConfig
	yamlToJSON(t, mustRender(t, mustParams(t)).UserData, &cc)
	script, _ := cc.writeFile(t, "/usr/local/sbin/cicf-firewall")
	path := writeTemp(t, "cicf-firewall", []byte(script), 0o755)
	// ufw stand-in: records its arguments, fails the one named by FAIL,
	// reports the state STATE for "status".
	const fake = `#!/bin/sh
echo "$*" >>"$LOG"
[ "$*" = "$FAIL" ] && exit 1
[ "$1" = status ] && echo "Status: $STATE"
exit 0
`
	rules := []string{"default deny incoming", "default allow outgoing", "allow 22/tcp", "allow 80/tcp", "allow 443/tcp", "--force enable", "status"}
	for _, tt := range []struct {
		name, fail, state string
		noUFW             bool
		wantOK            bool
		wantCalls         []string
	}{
		{name: "all rules", state: "active", wantOK: true, wantCalls: rules},
		{name: "rule refused", fail: "allow 80/tcp", state: "active", wantCalls: rules[:4]},
		{name: "enable fails", fail: "--force enable", state: "active", wantCalls: rules[:6]},
		{name: "not active after enable", state: "inactive", wantCalls: rules},
		{name: "ufw missing", noUFW: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bin := t.TempDir()
			if !tt.noUFW {
				if err := os.WriteFile(filepath.Join(bin, "ufw"), []byte(fake), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			log := filepath.Join(t.TempDir(), "calls")
			cmd := exec.Command("/bin/sh", path)
			// No sbin: the machine's own ufw must not answer.
			cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "LOG=" + log, "FAIL=" + tt.fail, "STATE=" + tt.state}
			out, err := cmd.CombinedOutput()
			if (err == nil) != tt.wantOK {
				t.Errorf("cicf-firewall error = %v, want ok=%v\n%s", err, tt.wantOK, out)
			}
			data, _ := os.ReadFile(log)
			calls := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			if len(data) == 0 {
				calls = nil
			}
			if !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("ufw calls = %q, want %q", calls, tt.wantCalls)
			}
		})
	}
}
