package main

import (
	"context"
	"encoding/json"
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

// dump returns the stored latest results and alert states, one a line,
// to tell why a wait ran out.
func (e *alertEnv) dump() string {
	ctx := context.Background()
	svc := store.NewAlertService(e.db)
	var b strings.Builder
	rs, err := svc.LatestResults(ctx, "")
	fmt.Fprintf(&b, "results (err %v):\n", err)
	for _, r := range rs {
		fmt.Fprintf(&b, "  %s %s %s at %s: %s\n", r.VM, r.Check, r.Status, r.At.Format("15:04:05.000"), r.Detail)
	}
	sts, err := svc.AlertStates(ctx)
	fmt.Fprintf(&b, "states (err %v):\n", err)
	for _, st := range sts {
		fmt.Fprintf(&b, "  %s %s firing=%v flapping=%v fails=%d oks=%d checks=%d incident=%d announced=%d updated %s\n",
			st.VM, st.Check, st.Firing, st.Flapping, st.Fails, st.Oks, st.Checks, st.Incident, st.Announced, st.UpdatedAt.Format("15:04:05.000"))
	}
	return b.String()
}

// stacks stops the bot with SIGQUIT, which makes the Go runtime print
// every goroutine's stack, and returns that part of its log: where a bot
// that stopped working is stuck.
func (e *alertEnv) stacks() string {
	n := len(e.stderr.String())
	if st := e.cmd.ProcessState; st != nil {
		return "the bot is not running: " + st.String()
	}
	if err := e.cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		return "the bot is not running: " + err.Error()
	}
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
	}
	return "goroutines of the bot:\n" + e.stderr.String()[n:]
}

// logTail returns the end of the bot's log.
func (e *alertEnv) logTail() string {
	lines := strings.Split(e.stderr.String(), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
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

// messages returns the channel's messages for which match holds.
func (e *alertEnv) messages(match func(slacksim.Message) bool) []slacksim.Message {
	var out []slacksim.Message
	for _, m := range e.slack.Messages(alertChannel) {
		if match(m) {
			out = append(out, m)
		}
	}
	return out
}

// waitMessage waits for a channel message for which match holds.
func (e *alertEnv) waitMessage(t *testing.T, what string, match func(slacksim.Message) bool) slacksim.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	ms, err := e.slack.WaitMessages(ctx, alertChannel, 1, match)
	if err != nil {
		var texts []string
		for _, m := range e.slack.Messages(alertChannel) {
			texts = append(texts, fmt.Sprintf("%s thread=%q: %s", m.At.Format("15:04:05.000"), m.ThreadTS, m.Text))
		}
		t.Fatalf("no %s in the channel: %v\nchannel:\n%s\nbot log (end):\n%s", what, err, strings.Join(texts, "\n"), e.logTail())
	}
	return ms[0]
}

// about matches the messages posted after since that name all of words.
func about(since time.Time, threaded bool, words ...string) func(slacksim.Message) bool {
	return func(m slacksim.Message) bool {
		if !m.At.After(since) || (m.ThreadTS != "") != threaded {
			return false
		}
		for _, w := range words {
			if !strings.Contains(m.Text, w) {
				return false
			}
		}
		return true
	}
}

// clickAlert clicks a button of the alert message ts as user and returns
// the bot's answer to the click.
func (e *alertEnv) clickAlert(t *testing.T, user, actionID, ts, vm string) slacksim.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := e.slack.SendBlockAction(ctx, slacksim.BlockAction{UserID: user, ChannelID: alertChannel, MessageTS: ts, ActionID: actionID, BlockID: "cicf_alert_" + vm, Value: vm})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.slack.WaitResponse(ctx, id)
	if err != nil {
		t.Fatalf("no answer to the click: %v", err)
	}
	var blocks []struct {
		Text struct{ Text string } `json:"text"`
	}
	if json.Unmarshal(resp.Blocks, &blocks) == nil {
		for _, b := range blocks {
			resp.Text += "\n" + b.Text.Text
		}
	}
	return resp
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
