package handlers_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// monos returns the fixed-width sections of the reply to text.
func monos(t *testing.T, env *testEnv, user, text string) (string, []string) {
	t.Helper()
	rep := env.router.Handle(context.Background(), user, text)
	var out []string
	for _, s := range rep.Sections {
		if s.Mono {
			out = append(out, s.Text)
		}
	}
	return rep.String(), out
}

func TestSSHConfig(t *testing.T) {
	env := classEnv(t)
	ctx := context.Background()
	vms := store.NewVMService(env.db)
	hostKey := newPublicKey(t, "")
	if err := vms.UpsertVM(ctx, &tasks.VM{Name: "emma", DropletID: 7, Status: "active", IPv4: "198.18.0.10", HostKey: hostKey}); err != nil {
		t.Fatal(err)
	}
	text, blocks := monos(t, env, emmaID, "ssh-config")
	if len(blocks) != 2 {
		t.Fatalf("ssh-config = %q, want 2 code blocks (config, known_hosts)", text)
	}
	wantBlock := "Host emma.cicf.cloud emma\n    HostName emma.cicf.cloud\n    User cicf\n    IdentityFile ~/.ssh/id_ed25519\n    IdentitiesOnly yes\n    StrictHostKeyChecking yes\n"
	if blocks[0] != wantBlock {
		t.Errorf("config block = %q, want %q", blocks[0], wantBlock)
	}
	f := strings.Fields(hostKey)
	if want := "emma.cicf.cloud " + f[0] + " " + f[1]; blocks[1] != want {
		t.Errorf("known_hosts line = %q, want %q", blocks[1], want)
	}
	// The fingerprint is word for word what ssh-keygen prints for the line.
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte(blocks[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ssh-keygen", "-lf", kh).Output()
	if err != nil {
		t.Fatalf("ssh-keygen -lf (install openssh-client): %v", err)
	}
	if fp := strings.TrimSpace(string(out)); !strings.Contains(text, "`"+fp+"`") {
		t.Errorf("ssh-config = %q, want the fingerprint line %q", text, fp)
	}
	if strings.Contains(text, "ssh-keygen -R") {
		t.Errorf("ssh-config of a VM never reset = %q, want no ssh-keygen -R", text)
	}

	// After a reset: the line that removes the old key, then the new line.
	if err := vms.UpsertVM(ctx, &tasks.VM{Name: "emma", DropletID: 8, Status: "active", IPv4: "198.18.0.11", HostKey: newPublicKey(t, ""), LastResetAt: env.now}); err != nil {
		t.Fatal(err)
	}
	text, blocks = monos(t, env, emmaID, "ssh-config")
	if len(blocks) != 3 || blocks[1] != "ssh-keygen -R emma.cicf.cloud" || blocks[2] == "" || strings.Contains(text, f[1]) {
		t.Errorf("ssh-config after a reset = %q, want ssh-keygen -R then the new line only", text)
	}

	// An instructor names the student; a student may not.
	if _, b := monos(t, env, instructorID, "ssh-config emma"); len(b) != 3 {
		t.Errorf("instructor ssh-config emma: %d code blocks, want 3", len(b))
	}
	if strings.Contains(text, "no SSH public key of yours") {
		t.Errorf("ssh-config for a student with a key = %q, want no missing-key note", text)
	}
	env.mustRun(t, emmaID, "ssh-config dylan", "only get the SSH settings of your own VM")
	// dylan has a VM but no key yet: told to send one first.
	if err := vms.UpsertVM(ctx, &tasks.VM{Name: "dylan", DropletID: 9, Status: "active", IPv4: "198.18.0.12", HostKey: newPublicKey(t, "")}); err != nil {
		t.Fatal(err)
	}
	env.mustRun(t, dylanID, "ssh-config", "no SSH public key of yours yet")
	env.mustRun(t, strangerID, "ssh-config", "not on the class roster")
	if err := vms.DeleteVM(ctx, "dylan"); err != nil {
		t.Fatal(err)
	}
	env.mustRun(t, dylanID, "ssh-config", "no VM with a pinned host key yet")
	env.mustRun(t, instructorID, "ssh-config", "Type `/cicf ssh-config NAME`")
}

func TestSSHConfigForKeyTypes(t *testing.T) {
	host := newPublicKey(t, "")
	for _, tc := range []struct{ key, want string }{
		{"ssh-ed25519 AAAA x", "IdentityFile ~/.ssh/id_ed25519"},
		{"ssh-rsa AAAA x", "IdentityFile ~/.ssh/id_rsa"},
		{"ecdsa-sha2-nistp256 AAAA x", "IdentityFile ~/.ssh/id_ecdsa"},
		{"", "IdentityFile ~/.ssh/id_ed25519"},
	} {
		if got := handlers.SSHConfigFor("emma.cicf.cloud", "emma", tc.key, host).Block; !strings.Contains(got, tc.want) {
			t.Errorf("SSHConfigFor(key %q).Block = %q, want %q", tc.key, got, tc.want)
		}
	}
}
