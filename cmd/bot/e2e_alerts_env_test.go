package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/internal/slacksim"
	"github.com/cicf/cicf-bot/internal/testvm"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// alertChannel is the class channel of the alert end-to-end tests.
const alertChannel = "C0CLASS01"

// alertsFirstVM is the first test VM index of these tests (115–129 are
// theirs).
const alertsFirstVM = 115

// alertsConfig runs the uptime sweep every second and the firewall audit
// every two; resources and the digest stay out of the way.
const alertsConfig = `poll_interval = "200ms"
[alerts]
uptime = "@every 1s"
firewall = "@every 2s"
resources = "@every 1h"
digest = "0 0 1 1 *"
fire_after = 3
resolve_after = 2
`

// alertEnv is `cicf-bot serve` between slacksim and dosim, its droplets
// booted as namespace VMs, with alerts posted to alertChannel.
type alertEnv struct {
	*serveEnv
	// test is the whole test's T: a bot started in a scenario (a
	// restart) must outlive that scenario, so its cleanup goes here.
	test  *testing.T
	dir   string
	env   []string
	fleet *testvm.Fleet
	db    *store.DB
	vms   map[string]*testvm.VM // by student name
	ips   map[string]string
}

// deadline bounds a wait for something the bot will do; it is a safety
// net against a hang, not a measure of speed.
const deadline = 5 * time.Minute

// startAlertEnv provisions names through serve onto namespace VMs and
// waits until every VM's uptime checks pass.
func startAlertEnv(t *testing.T, names ...string) *alertEnv {
	t.Helper()
	e := &alertEnv{test: t, dir: t.TempDir(), vms: map[string]*testvm.VM{}, ips: map[string]string{}}
	e.fleet = testvm.NewFleet(t, alertsFirstVM, testvm.NewCA(t))
	// Each VM's index, and one for the droplet of the reset scenario, are
	// this process's before the bot hands out an address.
	e.fleet.Reserve(len(names) + 1)
	do := dosim.New(dosim.Options{Token: e2eDOToken, AssignIP: e.fleet.AssignIP, OnCreate: e.fleet.OnCreate})
	e.fleet.Attach(do)
	do.AddDomain("cicf.cloud")
	cfg := filepath.Join(e.dir, "cicf-bot.toml")
	if err := os.WriteFile(cfg, []byte(alertsConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	// Slack allows about one message a second per channel; so does this one.
	sim := slacksim.New(slacksim.Options{AppToken: e2eAppToken, BotToken: e2eBotToken, PingInterval: time.Second, ChannelBurst: 1})
	e.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"SLACK_APP_TOKEN=" + e2eAppToken, "SLACK_BOT_TOKEN=" + e2eBotToken, "DIGITALOCEAN_TOKEN=" + e2eDOToken,
		"SLACK_API_URL=" + sim.APIURL(), "DIGITALOCEAN_API_URL=" + do.URL(), "CICF_DB=" + filepath.Join(e.dir, "cicf.db"), "CICF_INSTRUCTORS=" + e2eTeacher,
		"CICF_CONFIG=" + cfg, "CICF_CHANNEL=" + alertChannel, "SSL_CERT_FILE=" + e.fleet.CAFile(),
	}
	t.Cleanup(sim.Close)
	t.Cleanup(do.Close)
	e.serveEnv = &serveEnv{slack: sim, do: do}
	e.launch(t)

	for i, name := range names {
		expectReply(t, e.send(t, e2eTeacher, fmt.Sprintf("roster add %s U0ALRT%03d %s", name, i, studentKey(t))), "Added")
	}
	expectReply(t, e.send(t, e2eTeacher, "provision all"), names[0])
	e.waitFor(t, "every provision to end", func() bool {
		out := e.send(t, e2eTeacher, "runs")
		return strings.Count(out, ":white_check_mark: done") == len(names) || strings.Contains(out, "failed")
	})
	if out := e.send(t, e2eTeacher, "runs"); strings.Contains(out, "failed") {
		t.Fatalf("a provision failed:\n%s", out)
	}
	db, err := store.Open(context.Background(), filepath.Join(e.dir, "cicf.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	for _, d := range do.Droplets() {
		name := strings.TrimSuffix(d.Name, ".cicf.cloud")
		e.vms[name], e.ips[name] = e.fleet.VM(d.ID), d.IPv4
	}
	for _, name := range names {
		e.waitResult(t, name, tasks.CheckHTTPS, tasks.CheckOK, time.Now())
		// The VMs' Caddy serves 90-day certificates, as Let's Encrypt does.
		if r := e.result(t, name, tasks.CheckCert); r.Status != tasks.CheckOK || r.Value < 89 {
			t.Fatalf("%s's certificate = %+v, want ok with 89 days or more", name, r)
		}
	}
	e.settle(t)
	return e
}

// settle waits until no alert is open and nothing is owed to the channel.
func (e *alertEnv) settle(t *testing.T) {
	t.Helper()
	svc := store.NewAlertService(e.db)
	e.waitFor(t, "no open alert and nothing left to post", func() bool {
		open, err := svc.OpenAlerts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 0 {
			return false
		}
		pending, err := svc.PendingEvents(context.Background(), 1)
		return err == nil && len(pending) == 0
	})
}

// launch starts `cicf-bot serve` on e's database and stand-ins; it runs
// until the whole test ends (or a restart), not only the scenario that
// started it.
func (e *alertEnv) launch(t *testing.T) {
	t.Helper()
	e.stderr, e.done = &syncBuffer{}, make(chan error, 1)
	e.cmd = exec.Command(botBinary, "serve")
	e.cmd.Dir, e.cmd.Env, e.cmd.Stderr = e.dir, e.env, e.stderr
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd, done, stderr := e.cmd, e.done, e.stderr
	go func() { done <- cmd.Wait() }()
	top := e.test
	top.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
		}
		if top.Failed() {
			top.Logf("cicf-bot stderr:\n%s", stderr)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := e.slack.WaitConnections(ctx, e.slack.Connections()+1); err != nil {
		t.Fatalf("bot did not connect over socket mode: %v\n%s", err, e.stderr)
	}
}

// restart stops the bot with SIGTERM, as systemd would, and starts it again
// on the same database.
func (e *alertEnv) restart(t *testing.T) {
	t.Helper()
	if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-e.done:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v\n%s", err, e.stderr)
		}
	case <-time.After(deadline):
		t.Fatalf("serve did not stop after SIGTERM\n%s", e.stderr)
	}
	e.launch(t)
}

// waitFor polls cond until it holds.
func (e *alertEnv) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("waited %v for %s\nstore:\n%s\nbot log (end):\n%s\n%s", deadline, what, e.dump(), e.logTail(), e.stacks())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// result returns the stored latest result of (vm, check).
func (e *alertEnv) result(t *testing.T, vm, check string) tasks.Result {
	t.Helper()
	rs, err := store.NewAlertService(e.db).LatestResults(context.Background(), vm)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Check == check {
			return r
		}
	}
	return tasks.Result{}
}

// waitResult waits for a stored result of (vm, check) with status, taken
// after since.
func (e *alertEnv) waitResult(t *testing.T, vm, check string, status tasks.CheckStatus, since time.Time) tasks.Result {
	t.Helper()
	var r tasks.Result
	e.waitFor(t, fmt.Sprintf("%s %s %s", vm, check, status), func() bool {
		r = e.result(t, vm, check)
		return r.Status == status && r.At.After(since)
	})
	return r
}

// state returns the stored alert state of (vm, check).
func (e *alertEnv) state(t *testing.T, vm, check string) tasks.AlertState {
	t.Helper()
	all, err := store.NewAlertService(e.db).AlertStates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range all {
		if st.VM == vm && st.Check == check {
			return st
		}
	}
	return tasks.AlertState{}
}

// vmFirewall runs nft inside the VM's network namespace.
func (e *alertEnv) vmFirewall(t *testing.T, name, script string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", e.vms[name].Namespace(), "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft in %s's namespace: %v: %s", name, err, out)
	}
}

// reject443 makes the VM's HTTPS refuse connections (or serve again).
func (e *alertEnv) reject443(t *testing.T, name string, on bool) {
	t.Helper()
	if on {
		e.vmFirewall(t, name, "table inet cicf_e2e {\n chain input {\n type filter hook input priority 0;\n tcp dport 443 reject with tcp reset\n }\n}\n")
		return
	}
	e.vmFirewall(t, name, "delete table inet cicf_e2e")
}
