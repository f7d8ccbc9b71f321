package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/slacksim"
	"github.com/cicf/cicf-bot/internal/testvm"
	"github.com/cicf/cicf-bot/tasks"
)

// TestServeAlerts runs issue 6's end-to-end list through `cicf-bot serve`
// on three namespace VMs with real sshd and Caddy, one scenario after the
// other on the same class, each waiting on what the bot stores and posts
// rather than on time.
func TestServeAlerts(t *testing.T) {
	e := startAlertEnv(t, "amy", "bob", "cyd")
	// Each scenario builds on the class the one before left; after a
	// failure the rest would only time out.
	failed := false
	run := func(name string, f func(t *testing.T)) {
		if !failed && !t.Run(name, f) {
			failed = true
		}
	}
	topLevel := func() int {
		return len(e.messages(func(m slacksim.Message) bool { return m.ThreadTS == "" }))
	}

	run("https down fires once after fire_after sweeps, then resolves with its duration", func(t *testing.T) {
		start := time.Now()
		e.reject443(t, "amy", true)
		fire := e.waitMessage(t, "amy's HTTPS alert", about(start, false, "amy.cicf.cloud", "HTTPS", "failing"))
		if st := e.state(t, "amy", tasks.CheckHTTPS); st.Checks < 3 {
			t.Errorf("fired with %d failed checks, want fire_after = 3", st.Checks)
		}
		// Keep failing for more sweeps: nothing more is posted.
		e.waitFor(t, "three more failed sweeps", func() bool { return e.state(t, "amy", tasks.CheckHTTPS).Checks >= 6 })
		e.reject443(t, "amy", false)
		res := e.waitMessage(t, "amy's resolve", about(start, true, "amy.cicf.cloud", "HTTPS", "fine again"))
		if res.ThreadTS != fire.TS || !res.Broadcast || !strings.Contains(res.Text, "down ") || !strings.Contains(res.Text, "checks") {
			t.Errorf("resolve = %+v, want it in the firing's thread %s, broadcast, with duration and checks", res, fire.TS)
		}
		if n := len(e.messages(about(start, false, "amy.cicf.cloud", "HTTPS"))); n != 1 {
			t.Errorf("%d top-level messages about amy's HTTPS, want 1", n)
		}
		if n := len(e.messages(about(start, true, "amy.cicf.cloud", "HTTPS"))); n != 1 {
			t.Errorf("%d thread messages about amy's HTTPS, want only the resolve", n)
		}
		// The student's DMs follow the channel's message.
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		dms, err := e.slack.WaitMessages(ctx, "U0ALRT000", 2, func(m slacksim.Message) bool { return strings.Contains(m.Text, "HTTPS") })
		if err != nil || len(dms) != 2 || !strings.Contains(dms[0].Text, "What to do") || !strings.Contains(dms[1].Text, "fine again") {
			t.Errorf("amy's DMs about HTTPS = %+v, %v; want the alert with the fix, then that it is fine", dms, err)
		}
	})

	// Early on purpose: the scenarios after it run on the restarted bot
	// (a bot restarted inside a scenario once died with that scenario, and
	// the next one waited 5 minutes for an alert no bot would post).
	run("a restart while an alert fires neither reposts it nor loses its resolve, and the restarted bot posts new alerts", func(t *testing.T) {
		start := time.Now()
		e.reject443(t, "cyd", true)
		fire := e.waitMessage(t, "cyd's HTTPS alert", about(start, false, "cyd.cicf.cloud", "HTTPS", "failing"))
		e.restart(t)
		// A new incident on another VM after the restart is posted too.
		listen(t, e.vms["bob"], 8888)
		e.waitMessage(t, "bob's firewall alert after the restart", about(start, false, "bob.cicf.cloud", "firewall", "8888"))
		checks := e.state(t, "cyd", tasks.CheckHTTPS).Checks
		e.waitFor(t, "sweeps after the restart", func() bool { return e.state(t, "cyd", tasks.CheckHTTPS).Checks >= checks+3 })
		e.reject443(t, "cyd", false)
		res := e.waitMessage(t, "cyd's resolve after the restart", about(start, true, "cyd.cicf.cloud", "HTTPS", "fine again"))
		if res.ThreadTS != fire.TS {
			t.Errorf("resolve in thread %s, want the firing's %s", res.ThreadTS, fire.TS)
		}
		if n := len(e.messages(about(start, false, "cyd.cicf.cloud", "HTTPS", "failing"))); n != 1 {
			t.Errorf("%d firing messages for cyd's HTTPS across the restart, want 1", n)
		}
		if _, err := e.vms["bob"].Exec("pkill", "-f", "http.server 8888"); err != nil {
			t.Fatal(err)
		}
		e.waitMessage(t, "bob's firewall resolve", about(start, true, "bob.cicf.cloud", "firewall", "fine again"))
	})

	run("a one-sweep blip posts nothing", func(t *testing.T) {
		start := time.Now()
		incident := e.state(t, "bob", tasks.CheckHTTPS).Incident
		e.reject443(t, "bob", true)
		e.waitResult(t, "bob", tasks.CheckHTTPS, tasks.CheckFail, start)
		e.reject443(t, "bob", false)
		back := time.Now()
		e.waitResult(t, "bob", tasks.CheckHTTPS, tasks.CheckOK, back)
		e.waitFor(t, "two good sweeps", func() bool { return e.state(t, "bob", tasks.CheckHTTPS).Oks >= 2 })
		if st := e.state(t, "bob", tasks.CheckHTTPS); st.Incident != incident {
			t.Errorf("the blip became incident %d (state %+v)", st.Incident, st)
		}
		if got := e.messages(func(m slacksim.Message) bool { return m.At.After(start) && strings.Contains(m.Text, "bob") }); len(got) != 0 {
			t.Errorf("the blip posted %+v", got)
		}
	})

	run("a listener on 8888 started by the student names the port and the process", func(t *testing.T) {
		start := time.Now()
		vm := e.vms["cyd"]
		listen(t, vm, 8888)
		msg := e.waitMessage(t, "cyd's firewall alert", about(start, false, "cyd.cicf.cloud", "firewall", "8888"))
		if !strings.Contains(msg.Text, "python3") {
			t.Errorf("firewall alert %q does not name the process python3", msg.Text)
		}

		// The alert's buttons answer instructors only, the role read at
		// the click, and leave the alert message alone.
		if !strings.Contains(msg.Blocks, `"value":"cyd"`) {
			t.Fatalf("the alert has no buttons for cyd: %s", msg.Blocks)
		}
		if r := e.clickAlert(t, "U0ALRT002", "cicf_alert_mute", msg.TS, "cyd"); !strings.Contains(r.Text, "Only instructors") || r.ReplaceOriginal {
			t.Errorf("the student's Mute click = %q (replace %v), want a refusal", r.Text, r.ReplaceOriginal)
		}
		if r := e.clickAlert(t, e2eTeacher, "cicf_alert_check", msg.TS, "cyd"); !strings.Contains(r.Text, "*cyd.cicf.cloud* checked now") || !strings.Contains(r.Text, "✗ firewall") {
			t.Errorf("Check now = %q, want cyd's results with the firewall failing", r.Text)
		}
		if r := e.clickAlert(t, e2eTeacher, "cicf_alert_mute", msg.TS, "cyd"); !strings.Contains(r.Text, "Muted *cyd.cicf.cloud* until") {
			t.Errorf("the instructor's Mute click = %q", r.Text)
		}
		e.waitMessage(t, "the mute announcement", about(start, false, "muted alerts of *cyd.cicf.cloud*", "muted from the alert"))
		expectReply(t, e.send(t, e2eTeacher, "unmute cyd"), "Unmuted")
		if _, err := vm.Exec("pkill", "-f", "http.server 8888"); err != nil {
			t.Fatal(err)
		}
		e.waitMessage(t, "cyd's firewall resolve", about(start, true, "cyd.cicf.cloud", "firewall", "fine again"))
	})

	run("a muted VM posts nothing, and unmuting posts what still fails", func(t *testing.T) {
		start := time.Now()
		expectReply(t, e.send(t, e2eTeacher, "mute bob 1h e2e test"), "Muted *bob.cicf.cloud*")
		muted := e.waitMessage(t, "the mute announcement", about(start, false, "muted alerts of *bob.cicf.cloud*", "e2e test"))
		before := topLevel()
		e.reject443(t, "bob", true)
		e.waitFor(t, "bob's HTTPS to fire while muted", func() bool {
			st := e.state(t, "bob", tasks.CheckHTTPS)
			return st.Firing && st.Checks >= 5
		})
		if n := len(e.messages(about(start, false, "bob.cicf.cloud", "HTTPS", "failing"))); n != 0 || topLevel() != before {
			t.Errorf("muted bob posted %d HTTPS alerts (%d top-level messages, had %d): %+v", n, topLevel(), before, e.slack.Messages(alertChannel))
		}
		if n := len(e.messages(about(muted.At, true, "bob.cicf.cloud"))) + len(e.messages(about(muted.At, false, "bob.cicf.cloud"))); n != 0 {
			t.Errorf("muted bob posted %d messages: %+v", n, e.slack.Messages(alertChannel))
		}
		expectReply(t, e.send(t, e2eTeacher, "unmute bob"), "Unmuted")
		e.waitMessage(t, "bob's HTTPS alert after unmute", about(start, false, "bob.cicf.cloud", "HTTPS", "failing"))
		e.reject443(t, "bob", false)
		e.waitMessage(t, "bob's resolve", about(start, true, "bob.cicf.cloud", "HTTPS", "fine again"))
	})

	run("a replaced host key is a security alert at the first sweep", func(t *testing.T) {
		start := time.Now()
		vm := e.vms["amy"]
		if _, err := vm.Exec("sh", "-c", "mkdir -p /root/pinned && cp -a /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub /root/pinned/ && "+
			"rm /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub && "+
			"ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key && kill -HUP 1"); err != nil {
			t.Fatal(err)
		}
		msg := e.waitMessage(t, "amy's host key alert", about(start, false, "amy.cicf.cloud", "host key"))
		// At once: fire_after = 3 failures a second apart would put two
		// sweeps between the first failure and the firing.
		if st := e.state(t, "amy", tasks.CheckHostKey); st.FiredAt.Sub(st.Since) >= time.Second {
			t.Errorf("host key alert fired at %v, first failure at %v; want at the first failure (message %q)", st.FiredAt, st.Since, msg.Text)
		}
		if _, err := vm.Exec("sh", "-c", "cp -a /root/pinned/ssh_host_ed25519_key /root/pinned/ssh_host_ed25519_key.pub /etc/ssh/ && kill -HUP 1"); err != nil {
			t.Fatal(err)
		}
		// VMs under a run (provisioning's host key rotation) are not
		// checked, so this is the alert's first incident and it resolves.
		e.waitMessage(t, "amy's host key resolve", about(start, true, "amy.cicf.cloud", "host key", "fine again"))
		if n := len(e.messages(about(time.Time{}, false, "amy.cicf.cloud", "host key", "keeps changing"))); n != 0 {
			t.Errorf("amy's host key flapped (%d notices): an alert fired while provisioning rotated the key", n)
		}
	})

	run("every VM cut off is one grouped message", func(t *testing.T) {
		start := time.Now()
		before := topLevel()
		cut := "table inet cicf_afront_e2e {\n chain output {\n type filter hook output priority 0;\n ip daddr { " +
			e.ips["amy"] + ", " + e.ips["bob"] + ", " + e.ips["cyd"] + " } drop\n }\n}\n"
		hostNft(t, cut)
		t.Cleanup(func() { exec.Command("nft", "delete", "table", "inet", "cicf_afront_e2e").Run() })
		// Dropped packets make each check wait out its deadline: sweeps are
		// slow while cut off.
		e.waitFor(t, "the class-wide SSH alert", func() bool { return e.state(t, "", tasks.GroupCheck(tasks.CheckSSH)).Firing })
		grouped := e.waitMessage(t, "the grouped alert", about(start, false, "*SSH*", "across the class"))
		hostNft(t, "delete table inet cicf_afront_e2e")
		e.waitMessage(t, "the grouped resolve", func(m slacksim.Message) bool { return m.ThreadTS == grouped.TS && m.Broadcast })
		if n := topLevel() - before; n != 1 {
			t.Errorf("%d top-level messages while cut off, want the one grouped message: %+v", n, e.slack.Messages(alertChannel))
		}
		if n := len(e.messages(about(start, false, "across the class"))); n != 1 {
			t.Errorf("%d grouped messages, want 1", n)
		}
		// Per-VM messages name the VM's host; the grouped one lists names.
		if n := len(e.messages(about(start, false, ".cicf.cloud"))) + len(e.messages(about(start, true, ".cicf.cloud"))); n != 0 {
			t.Errorf("%d per-VM messages while cut off, want none: %+v", n, e.slack.Messages(alertChannel))
		}
	})

	run("a certificate that lasts 3 days is a warning, and a renewed one ends it", func(t *testing.T) { e.shortCert(t, "cyd") })
	run("a VM under a reset is not checked, and is checked again after it", func(t *testing.T) { e.underReset(t, "bob") })

	if rl := e.slack.RateLimited(); len(rl) > 0 {
		t.Logf("%d posts got 429 and were retried after Retry-After", len(rl))
	}
}

// listen starts a web server on port as the student, as one would type
// python3 -m http.server in a terminal.
func listen(t *testing.T, vm *testvm.VM, port int) {
	t.Helper()
	cmd := fmt.Sprintf("cd /tmp && setsid python3 -m http.server %d >/dev/null 2>&1 < /dev/null &", port)
	if _, err := vm.Exec("su", "-s", "/bin/sh", "cicf", "-c", cmd); err != nil {
		t.Fatal(err)
	}
}

// hostNft applies an nftables script in the machine's own namespace (the
// rules name only this test's VM addresses).
func hostNft(t *testing.T, script string) {
	t.Helper()
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
}
