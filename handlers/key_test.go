package handlers_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/tasks"
)

// A student naming someone else is refused and nothing changes: neither
// the named student's key nor her own.
func TestKeyStudentNamingAnotherIsRefused(t *testing.T) {
	env := classEnv(t)
	ctx := context.Background()
	students := env.deps.Students
	before := map[string]string{}
	for _, n := range []string{"emma", "dylan"} {
		s, err := students.FindStudent(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		before[n] = s.PublicKey
	}
	key := newPublicKey(t, "emma@laptop")
	for _, text := range []string{
		"key dylan " + key,
		"key <@" + dylanID + "|dylan> " + key,
		"key zoe " + key, // not on the roster: same answer, no roster leak
	} {
		got := env.run(t, emmaID, text)
		if !strings.Contains(got, "only set your own key") || !strings.Contains(got, "nothing was changed") {
			t.Errorf("emma: %q = %q, want a refusal", text, got)
		}
		assertAudit(t, env, emmaID, "key", tasks.EFORBIDDEN)
	}
	for n, k := range before {
		s, err := students.FindStudent(ctx, n)
		if err != nil || s.PublicKey != k {
			t.Errorf("%s's key = %q, %v; want it unchanged %q", n, s.PublicKey, err, k)
		}
	}
	// Her own name, or a mention of herself, is her own key.
	env.mustRun(t, emmaID, "key emma "+key, "Saved the SSH key")
	env.mustRun(t, emmaID, "key <@"+emmaID+"|emma> "+newPublicKey(t, "again"), "Saved the SSH key")
	// A word that is neither a name before a key nor a key is a bad key.
	env.mustRun(t, emmaID, "key not-a-key", "not an SSH public key")
}

func TestKeyRefusalsGiveTheReason(t *testing.T) {
	env := classEnv(t)
	dsa := "ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4EddRIpUt9KnC7s5Of2EbdSPO9EAMMeP4C2USZpRV1AIlH7WT2NWPq/xfW6MPbLm1Vs14E7gB00b/JmYLdrmVClpJ+f6AR7ECLCT7up1/63xhv4O1fnxqimFQ8E+4P208UewwI1VBNaFpEy9nXzrith1yrv8iIDGZ3RSAHHAAAAFQCXYFCPFSMLzLKSuYKi64QL8Fgc9QAAAIEA9+GghdabPd7LvKtcNrhXuXmUr7v6OuqC+VdMCz0HgmdRWVeOutRZT+ZxBxCBgLRJFnEj6EwoFhO3zwkyjMim4TwWeotUfI0o4KOuHiuzpnWRbqN/C/ohNWLx+2J6ASQ7zKTxvqhRkImog9/hWuWfBpKLZl6Ae1UlZAFMO/7PSSoAAACAKqm2eSbC0TbPn+3iG4B6q6e9jyF7JStJY0M3xhbWKKPrcKqLB1bZGsBMcXKF/Ab1jkWq6ifWqTsZ57b6vpWqq7YQBPvkRU8OYi/GUbDn3khAWpUoUn8Ij61rl+uE5wT1rSpyEf8RqBp0srrzp/3r6PnwgVrMXxNbP+YQ7B6L7xc= old@box"
	for _, tc := range []struct{ text, want string }{
		{"key " + dsa, "DSA is obsolete"},
		{"key " + rsaKey(t, 2048), "2048 bits; keys under 3072 bits are too weak"},
	} {
		if got := env.run(t, emmaID, tc.text); !strings.Contains(got, tc.want) {
			t.Errorf("%.40s… = %q, want %q", tc.text, got, tc.want)
		}
		assertAudit(t, env, emmaID, "key", tasks.EINVALID)
	}
	env.mustRun(t, emmaID, "key "+rsaKey(t, 3072), "Saved the SSH key `SHA256:")
}

// assertAudit checks the newest audit entry.
func assertAudit(t *testing.T, env *testEnv, user, verb, outcome string) {
	t.Helper()
	entries, err := env.audit.ListAudit(context.Background(), 1)
	if err != nil || len(entries) == 0 {
		t.Fatalf("ListAudit = %v, %v", entries, err)
	}
	if e := entries[0]; e.UserID != user || e.Verb != verb || e.Outcome != outcome {
		t.Errorf("newest audit entry = %+v, want %s %s → %s", e, user, verb, outcome)
	}
}

func rsaKey(t *testing.T, bits int) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ssh.NewPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))) + " old@box"
}

// A student's help leads with the three steps, in order, before the list.
func TestHelpStudentLeadsWithThreeSteps(t *testing.T) {
	env := classEnv(t)
	got := env.run(t, emmaID, "help")
	last := -1
	for _, w := range []string{"1. `/cicf key", "2. `/cicf ssh-config`", "`ssh emma`", "3. `/cicf password`", "https://emma.cicf.cloud", "commands for students"} {
		i := strings.Index(got, w)
		if i <= last {
			t.Fatalf("student help = %q, want %q after the previous step", got, w)
		}
		last = i
	}
	if got := env.run(t, instructorID, "help"); strings.Contains(got, "Getting started") {
		t.Errorf("instructor help = %q, want no student steps", got)
	}
}

// A key a student sets while her VM is being reset is put on the new VM by
// the run's last step; the key command says so instead of pushing it to
// the VM on its way out.
func TestKeySetDuringResetReachesTheNewVM(t *testing.T) {
	env := accessEnv(t)
	ctx := context.Background()
	rep := env.router.Handle(ctx, emmaID, "reset")
	if rep.Confirm == nil {
		t.Fatalf("reset: no confirm button: %s", rep)
	}
	// Every DigitalOcean call now takes a while: the run cannot finish
	// before the key command below has run.
	env.sim.SetLatency(300 * time.Millisecond)
	env.router.Confirm(ctx, emmaID, rep.Confirm.ID)
	key := newPublicKey(t, "fresh@laptop")
	if got := env.run(t, emmaID, "key "+key); !strings.Contains(got, "reset of emma is in progress: it puts this key on") {
		t.Fatalf("key during a reset = %q, want it left to the run", got)
	}
	env.sim.SetLatency(0)
	env.runner.Wait()
	runs, err := env.runs.ListRuns(ctx, "emma", 1)
	if err != nil || runs[0].Kind != tasks.RunReset || runs[0].State != tasks.RunDone {
		t.Fatalf("newest run of emma = %+v, %v; want a finished reset", runs[0], err)
	}
	vm, err := env.deps.Fleet.VMs.FindVM(ctx, "emma")
	if err != nil {
		t.Fatal(err)
	}
	got := string(env.vms.File(vm.IPv4, "/home/cicf/.ssh/authorized_keys"))
	if !strings.Contains(got, strings.Fields(key)[1]) {
		t.Errorf("the new VM's authorized_keys = %q, want the key set during the reset", got)
	}
}

// A password typed after the verb is not used, and not kept in the audit
// log: the form is the only way in.
func TestPasswordTypedOnTheCommandLineIsRedacted(t *testing.T) {
	env := accessEnv(t)
	const pw = "typed in the open 123"
	got := env.run(t, emmaID, "password "+pw)
	if !strings.Contains(got, "what you typed after it was not used") || strings.Contains(got, pw) {
		t.Errorf("password with arguments = %q, want it refused without repeating them", got)
	}
	entries, err := env.audit.ListAudit(context.Background(), 1)
	if err != nil || len(entries) != 1 {
		t.Fatalf("ListAudit = %v, %v", entries, err)
	}
	if e := entries[0]; e.Verb != "password" || e.Args != "[redacted]" || e.Outcome != tasks.EINVALID {
		t.Errorf("audit entry = %+v, want password [redacted] %s", e, tasks.EINVALID)
	}
}
