package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
)

// classEnv has emma (with a key and a running droplet) and dylan (no key).
func classEnv(t *testing.T) *testEnv {
	env := newTestEnv(t)
	env.mustRun(t, instructorID, "roster add emma <@"+emmaID+"|emma> emma@example.edu "+newPublicKey(t, "emma@laptop"), "Added `emma`")
	env.mustRun(t, instructorID, "roster add dylan <@"+dylanID+"|dylan>", "Added `dylan`")
	env.sim.AddDroplet(dosim.DropletSpec{
		Name: "emma.cicf.cloud", Tags: []string{"cicf"}, IPv4: "198.18.0.10", IPv6: "2001:db8::10",
		Region: "nyc3", Size: "s-1vcpu-2gb", CreatedAt: env.now.Add(-50 * time.Hour),
	})
	env.reconcile(t)
	return env
}

func TestRouterByRole(t *testing.T) {
	env := classEnv(t)
	tests := []struct {
		name, user, text string
		want             []string // all must appear
		notWant          []string
	}{
		{"stranger help", strangerID, "help", []string{"not on the class roster", "<@" + instructorID + ">"}, []string{"roster add NAME @user [EMAIL]"}},
		{"stranger status", strangerID, "status", []string{"not on the class roster yet"}, nil},
		{"stranger empty", strangerID, "", []string{"not on the class roster"}, nil},
		{"student help", emmaID, "help", []string{"commands for students", "/cicf status`"}, []string{"roster"}},
		{"student status", emmaID, "status", []string{"*emma.cicf.cloud* — :large_green_circle: running", "198.18.0.10", "2001:db8::10", "created 2d 2h ago", "never reset"}, nil},
		{"student status own name", emmaID, "status emma", []string{"emma.cicf.cloud"}, nil},
		{"student status other", emmaID, "status dylan", []string{"only see your own VM"}, []string{"dylan.cicf.cloud"}},
		{"student status all", emmaID, "status all", []string{"only see your own VM"}, nil},
		{"student roster", emmaID, "roster list", []string{"Only instructors can use `/cicf roster`"}, []string{"dylan"}},
		{"student help roster", emmaID, "help roster", []string{"Only instructors"}, nil},
		{"student no key", dylanID, "status", []string{"dylan.cicf.cloud* — no VM yet", "no SSH public key"}, nil},
		{"instructor help", instructorID, "help", []string{"commands for instructors", "/cicf roster", "/cicf status [NAME|all]"}, nil},
		{"instructor help verb", instructorID, "help status", []string{"/cicf status [NAME|all]", "Examples:", "/cicf status emma"}, nil},
		{"instructor table", instructorID, "status all", []string{"2 VMs on cicf.cloud", "1 need attention", "dylan", "waiting for an SSH key", "emma", "active", "198.18.0.10"}, nil},
		{"instructor table default", instructorID, "status", []string{"2 VMs on cicf.cloud"}, nil},
		{"instructor card by mention", instructorID, "status <@" + emmaID + "|emma>", []string{"*emma.cicf.cloud*", "198.18.0.10"}, nil},
		{"instructor card unknown", instructorID, "status zoe", []string{`No student named "zoe"`, "/cicf roster list"}, nil},
		{"instructor card bad name", instructorID, "status ../etc", []string{"not a valid name"}, nil},
		{"unknown verb", instructorID, "stauts all", []string{"Unknown command `stauts`", "Did you mean `/cicf status`?"}, nil},
		{"unknown verb student", emmaID, "rooster", []string{"Unknown command `rooster`", "/cicf help"}, []string{"Did you mean `/cicf roster`"}},
		{"shouting", instructorID, "STATUS ALL", []string{"2 VMs on cicf.cloud"}, nil},
		{"control char", emmaID, "status\x1b[2J", []string{"control character"}, nil},
		{"console prefix", instructorID, "/cicf help", []string{"commands for instructors"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := env.run(t, tt.user, tt.text)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Handle(%s, %q) =\n%s\nwant it to contain %q", tt.user, tt.text, got, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("Handle(%s, %q) =\n%s\nwant no %q", tt.user, tt.text, got, w)
				}
			}
			if strings.Contains(got, "Internal error") {
				t.Errorf("Handle(%s, %q) gave an internal error: %s", tt.user, tt.text, got)
			}
		})
	}
}

func TestRosterCommands(t *testing.T) {
	env := classEnv(t)
	key := newPublicKey(t, "zoe@laptop")
	steps := []struct{ text, want string }{
		{"roster add zoe <@U0ZOE0001|zoe> zoe@example.edu " + key, "SSH key `SHA256:"},
		{"roster add zoe <@U0OTHER01|other>", `already a student named "zoe"`},
		{"roster add zoe2 <@U0ZOE0001|zoe>", `already on the roster as "zoe"`},
		{"roster add Zoe!", "Type `/cicf roster add NAME @user"},
		{"roster add bad_name <@U0BAD0001>", "not a valid name"},
		{"roster add yan zoe", "Mention the student's Slack user with @"},
		{"roster add yan U0YAN0001 not-an-email", "not an SSH public key"},
		{"roster add yan U0YAN0001 yan@example.edu ssh-ed25519 AAAAnope", "not an SSH public key"},
		{"roster add yan U0YAN0001 -----BEGIN OPENSSH PRIVATE KEY-----", "*private* key"},
		{"roster add yan @U0YAN0001", "Added `yan`"},
		{"roster list", "*4 students* · 2 without an SSH key"},
		{"roster", "`zoe` <@U0ZOE0001> zoe@example.edu — key `SHA256:"},
		{"roster remove yan", "Removed `yan`"},
		{"roster remove yan", `No student named "yan"`},
		{"roster remove emma", "destroy it first with `/cicf destroy emma`"},
		{"roster remove", "Type `/cicf roster remove NAME`"},
		{"roster frobnicate", "Unknown roster command `frobnicate`"},
		{"roster list", "`emma` <@" + emmaID + ">"}, // kept, droplet and all
	}
	for _, s := range steps {
		if got := env.run(t, instructorID, s.text); !strings.Contains(got, s.want) {
			t.Errorf("Handle(%q) =\n%s\nwant it to contain %q", s.text, got, s.want)
		}
	}
}

func TestStatusWhenDigitalOceanIsDown(t *testing.T) {
	env := classEnv(t)
	env.mustRun(t, instructorID, "status emma", "198.18.0.10") // the bot sees the droplet once
	env.now = env.now.Add(3 * time.Minute)
	env.sim.FailNext(100, 503, 0)
	if err := env.deps.Fleet.Reconcile(context.Background()); tasks.ErrorCode(err) != tasks.EUNAVAILABLE {
		t.Fatalf("Reconcile with DigitalOcean down = %v, want EUNAVAILABLE", err)
	}
	got := env.run(t, emmaID, "status")
	for _, w := range []string{"Not fresh from DigitalOcean", "not answering", "reported 3m ago", "198.18.0.10"} {
		if !strings.Contains(got, w) {
			t.Errorf("status with DO down =\n%s\nwant %q", got, w)
		}
	}
}

func TestAuditRecordsEveryCommandWithoutKeys(t *testing.T) {
	env := newTestEnv(t)
	key := newPublicKey(t, "zoe@laptop")
	env.run(t, instructorID, "roster add zoe <@U0ZOE0001|zoe> "+key)
	env.run(t, strangerID, "roster list")
	env.run(t, instructorID, "nonsense")
	env.run(t, instructorID, "status \x07")
	entries, err := env.audit.ListAudit(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(entries), 4; got != want {
		t.Fatalf("audit has %d entries, want %d", got, want)
	}
	want := []struct {
		user, verb, outcome string
		role                tasks.Role
	}{
		{instructorID, "(unparsed)", tasks.EINVALID, tasks.RoleNone},
		{instructorID, "nonsense", tasks.EINVALID, tasks.RoleInstructor},
		{strangerID, "roster", tasks.EFORBIDDEN, tasks.RoleNone},
		{instructorID, "roster", "ok", tasks.RoleInstructor},
	}
	for i, w := range want {
		e := entries[i]
		if e.UserID != w.user || e.Verb != w.verb || e.Outcome != w.outcome || e.Role != w.role {
			t.Errorf("audit[%d] = %s %s %s %s, want %s %s %s %s", i, e.UserID, e.Verb, e.Outcome, e.Role, w.user, w.verb, w.outcome, w.role)
		}
	}
	blob := strings.Fields(key)[1]
	if a := entries[3].Args; strings.Contains(a, blob) || !strings.Contains(a, "[key]") || !strings.Contains(a, "<@U0ZOE0001>") {
		t.Errorf("audit args = %q, want the key redacted and the user ID kept", a)
	}
}

func TestAuditNeverHoldsAPastedPrivateKey(t *testing.T) {
	env := newTestEnv(t)
	env.run(t, instructorID, "roster add zoe U0ZOE0001")
	pasted := "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW QyNTUxOQAAACDx8Y6s -----END OPENSSH PRIVATE KEY-----"
	env.mustRun(t, instructorID, "key zoe "+pasted, "*private* key")
	env.mustRun(t, instructorID, "key zoe b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", "not an SSH public key")
	entries, err := env.audit.ListAudit(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Args, "b3BlbnNz") || strings.Contains(e.Args, "QyNTUxOQ") {
			t.Errorf("audit %s %q holds private key material", e.Verb, e.Args)
		}
	}
	if got := entries[1].Args; !strings.HasPrefix(got, "zoe [redacted]") {
		t.Errorf("audit args = %q, want the name kept and the rest redacted", got)
	}
}
