package tasks_test

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/cicf/cicf-bot/probe"
	"github.com/cicf/cicf-bot/tasks"
)

func TestValidatePassword(t *testing.T) {
	for _, tc := range []struct {
		pw, want string // want: part of the message, "" for valid
	}{
		{"correct horse battery", ""},
		{"12345678901", "at least 12 characters"},
		{"éééééééééééé", ""}, // 12 characters, 24 bytes
		{strings.Repeat("a", 72), ""},
		{strings.Repeat("a", 73), "at most 72 bytes"},
		{strings.Repeat("é", 37), "at most 72 bytes"},
		{"emma.cicf.cloud", "user name or the VM's name"},
		{"EMMA.CICF.CLOUD", "user name or the VM's name"},
		{"https://emma.cicf.cloud/", "user name or the VM's name"},
		{"emmaemmaemma", ""},
		{"tab\tin the password", "letters, digits, spaces"},
		{"bad utf8 \xff\xfe here", "letters, digits, spaces"},
	} {
		err := tasks.ValidatePassword(tc.pw, "emma", "emma.cicf.cloud")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("ValidatePassword(%q) = %v, want nil", tc.pw, err)
		case tc.want != "" && (tasks.ErrorCode(err) != tasks.EINVALID || !strings.Contains(tasks.ErrorMessage(err), tc.want)):
			t.Errorf("ValidatePassword(%q) = %v, want EINVALID with %q", tc.pw, err, tc.want)
		case err != nil && strings.Contains(tasks.ErrorMessage(err), tc.pw):
			t.Errorf("ValidatePassword(%q) = %v repeats the password", tc.pw, err)
		}
	}
	// A short user name is not a password either.
	if err := tasks.ValidatePassword("cicf", "al", "al.cicf.cloud"); err == nil {
		t.Errorf("ValidatePassword(cicf) = nil")
	}
}

// SetPassword on a real VM: the real Caddy restarts with the new hash, and
// from outside no password and a wrong one get 401, the new one does not.
func TestSetPasswordOnRealVM(t *testing.T) {
	e := newCloudEnv(t, 132)
	ctx := context.Background()
	e.student("emma")
	if r := e.run(tasks.RunProvision, "emma"); r.State != tasks.RunDone {
		t.Fatalf("provision ended %s: %s", r.State, r.Error)
	}
	vmRec, err := e.vms.FindVM(ctx, "emma")
	if err != nil {
		t.Fatal(err)
	}
	vm := e.vm(vmRec.DropletID)
	const pw = "violet staple orbit 42"
	p := &probe.Prober{RootCAs: e.ca.Pool}
	if st, err := p.HTTPSAuth(ctx, vm.IP(), "emma.cicf.cloud", "cicf", pw); err != nil || st != 401 {
		t.Fatalf("before: the new password gets %d, %v; want 401", st, err)
	}

	if err := e.runner.SetPassword(ctx, "emma", "short"); tasks.ErrorCode(err) != tasks.EINVALID {
		t.Errorf("SetPassword(short) = %v, want EINVALID", err)
	}
	if err := e.runner.SetPassword(ctx, "emma", pw); err != nil {
		t.Fatalf("SetPassword = %v", err)
	}
	for _, tc := range []struct {
		user, pw string
		want401  bool
	}{{"cicf", pw, false}, {"cicf", pw + "x", true}, {"emma", pw, true}} {
		st, err := p.HTTPSAuth(ctx, vm.IP(), "emma.cicf.cloud", tc.user, tc.pw)
		if err != nil || (st == 401) != tc.want401 {
			t.Errorf("HTTPSAuth(%s, %q) = %d, %v; want 401: %v", tc.user, tc.pw, st, err, tc.want401)
		}
	}
	if st, _, err := p.HTTPS(ctx, vm.IP(), "emma.cicf.cloud"); err != nil || st != 401 {
		t.Errorf("HTTPS without a password = %d, %v; want 401", st, err)
	}
	env, err := vm.Exec("cat", "/home/cicf/data/.env")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(env), pw) {
		t.Errorf(".env holds the password in clear")
	}
	var hash string
	for _, l := range strings.Split(string(env), "\n") {
		if v, ok := strings.CutPrefix(l, "CADDY_PASSWORD="); ok {
			hash = strings.Trim(v, "'")
		}
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != 12 || bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) != nil {
		t.Errorf(".env hash %q (cost %d, %v) does not match the password at cost 12", hash, cost, err)
	}
	if out, err := vm.Exec("stat", "-c", "%a %U", "/home/cicf/data/.env"); err != nil || string(out) != "600 cicf\n" {
		t.Errorf(".env is %q, %v; want 600 cicf", out, err)
	}
	if recs := strings.Join(vm.Records(), "\n"); !strings.Contains(recs, "systemctl restart jupyter-caddy.service") {
		t.Errorf("no restart recorded:\n%s", recs)
	}

	// Someone took basic auth out of the Caddyfile: the check from outside
	// sees the page open without a password and says so.
	if out, err := vm.Exec("/bin/sh", "-c", "sed -i '/basicauth {/,/^\t}/d' /home/cicf/data/Caddyfile && ! grep -q basicauth /home/cicf/data/Caddyfile"); err != nil {
		t.Fatalf("remove basicauth: %v\n%s", err, out)
	}
	err = e.runner.SetPassword(ctx, "emma", "another long password 8")
	if tasks.ErrorCode(err) != tasks.ECONFLICT || !strings.Contains(tasks.ErrorMessage(err), "without a password: JupyterLab may be exposed") {
		t.Errorf("SetPassword with basic auth gone = %v, want ECONFLICT saying JupyterLab may be exposed", err)
	}
}
