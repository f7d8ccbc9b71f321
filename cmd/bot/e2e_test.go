package main

import (
	"bytes"
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
	"github.com/cicf/cicf-bot/internal/syncbuf"
)

// botBinary is the cicf-bot binary built once for the end-to-end tests.
var botBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cicf-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	botBinary = filepath.Join(dir, "cicf-bot")
	if out, err := exec.Command("go", "build", "-o", botBinary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build cicf-bot: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	e2eAppToken = "xapp-1-A0E2E-secret-app-token"
	e2eBotToken = "xoxb-1-e2e-secret-bot-token"
	e2eDOToken  = "dop_v1_e2e_secret_do_token"
	e2eTeacher  = "U0TEACH01"
	e2eEmma     = "U0EMMA001"
	e2eStranger = "U0NOBODY1"
)

// syncBuffer collects a process's stderr safely; the name is kept for
// the e2e tests that use it.
type syncBuffer = syncbuf.Buffer

// serveEnv is a running `cicf-bot serve` between the two stand-ins.
type serveEnv struct {
	slack  *slacksim.Server
	do     *dosim.Server
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

func startServe(t *testing.T) *serveEnv {
	t.Helper()
	do := dosim.New(dosim.Options{Token: e2eDOToken})
	do.AddDroplet(dosim.DropletSpec{Name: "emma.cicf.cloud", Tags: []string{"cicf"}, IPv4: "198.18.0.10", Region: "nyc3", Size: "s-1vcpu-2gb"})
	return startServeWith(t, do)
}

// startServeWith runs serve against the DigitalOcean stand-in do, with
// env added to its environment.
func startServeWith(t *testing.T, do *dosim.Server, env ...string) *serveEnv {
	t.Helper()
	e := &serveEnv{
		slack:  slacksim.New(slacksim.Options{AppToken: e2eAppToken, BotToken: e2eBotToken, PingInterval: time.Second}),
		do:     do,
		stderr: &syncBuffer{},
		done:   make(chan error, 1),
	}
	t.Cleanup(e.slack.Close)
	t.Cleanup(e.do.Close)

	e.cmd = exec.Command(botBinary, "serve")
	e.cmd.Dir = t.TempDir()
	e.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"SLACK_APP_TOKEN=" + e2eAppToken, "SLACK_BOT_TOKEN=" + e2eBotToken, "DIGITALOCEAN_TOKEN=" + e2eDOToken,
		"SLACK_API_URL=" + e.slack.APIURL(), "DIGITALOCEAN_API_URL=" + e.do.URL(),
		"CICF_DB=" + filepath.Join(e.cmd.Dir, "cicf.db"), "CICF_INSTRUCTORS=" + e2eTeacher,
	}
	e.cmd.Env = append(e.cmd.Env, env...)
	e.cmd.Stderr = e.stderr
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { e.done <- e.cmd.Wait() }()
	t.Cleanup(func() {
		if e.cmd.ProcessState == nil {
			e.cmd.Process.Kill()
			<-e.done
		}
		if t.Failed() {
			t.Logf("cicf-bot stderr:\n%s", e.stderr)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := e.slack.WaitConnections(ctx, 1); err != nil {
		t.Fatalf("bot did not connect over socket mode: %v\n%s", err, e.stderr)
	}
	return e
}

// send runs one slash command and returns the text of the bot's reply; it
// fails the test unless the envelope was acked and the reply was ephemeral.
func (e *serveEnv) send(t *testing.T, user, text string) string {
	t.Helper()
	id := e.sendAcked(t, user, text)
	return e.reply(t, id)
}

func (e *serveEnv) sendAcked(t *testing.T, user, text string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, err := e.slack.SendSlashCommand(ctx, slacksim.SlashCommand{UserID: user, UserName: "someone", ChannelID: "C0CLASS01", Text: text, Command: "/cicf"})
	if err != nil {
		t.Fatalf("send %q: %v", text, err)
	}
	if _, err := e.slack.WaitAck(ctx, id); err != nil {
		t.Fatalf("no ack for %q: %v", text, err)
	}
	return id
}

func (e *serveEnv) reply(t *testing.T, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := e.slack.WaitResponse(ctx, id)
	if err != nil {
		t.Fatalf("no reply to envelope %s: %v", id, err)
	}
	if resp.ResponseType != "ephemeral" {
		t.Errorf("reply response_type = %q, want ephemeral", resp.ResponseType)
	}
	var blocks []struct {
		Text struct{ Text string } `json:"text"`
	}
	if err := json.Unmarshal(resp.Blocks, &blocks); err != nil {
		t.Fatalf("reply blocks: %v", err)
	}
	var b strings.Builder
	for _, bl := range blocks {
		b.WriteString(bl.Text.Text + "\n")
	}
	return b.String()
}

func expectReply(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("reply =\n%s\nwant it to contain %q", got, w)
		}
	}
}

func TestServeAnswersByRoleAndSurvivesReconnects(t *testing.T) {
	e := startServe(t)
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBR6U3SLtWbwyk7YBhJDpApdM5eVVl0HFh4ESCe5dWVd emma@laptop"

	expectReply(t, e.send(t, e2eStranger, "help"), "not on the class roster", "<@"+e2eTeacher+">")
	expectReply(t, e.send(t, e2eEmma, "status"), "not on the class roster yet")
	expectReply(t, e.send(t, e2eTeacher, "roster add emma <@"+e2eEmma+"|emma> emma@example.edu "+key), "Added `emma`", "SHA256:")
	expectReply(t, e.send(t, e2eEmma, "status"), "*emma.cicf.cloud*", "198.18.0.10")
	expectReply(t, e.send(t, e2eEmma, "roster list"), "Only instructors")
	expectReply(t, e.send(t, e2eTeacher, "status all"), "1 VMs on cicf.cloud", "emma")
	expectReply(t, e.send(t, e2eTeacher, "help"), "/cicf roster", "/cicf status [NAME|all]")

	// Bad input gets a short, useful answer, and the bot carries on.
	expectReply(t, e.send(t, e2eEmma, "status \x1b[2J"), "control character")
	expectReply(t, e.send(t, e2eEmma, strings.Repeat("a", 5000)), "too long")
	expectReply(t, e.send(t, e2eEmma, `status "emma`), "quote is not closed")
	expectReply(t, e.send(t, e2eTeacher, "frobnicate"), "Unknown command `frobnicate`", "/cicf help")

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// Slack asks for a reconnect.
	e.slack.Disconnect("refresh_requested")
	if err := e.slack.WaitConnections(ctx, 2); err != nil {
		t.Fatalf("no reconnect after refresh_requested: %v", err)
	}
	expectReply(t, e.send(t, e2eEmma, "status"), "198.18.0.10")
	e.slack.Disconnect("warning")
	if err := e.slack.WaitConnections(ctx, 3); err != nil {
		t.Fatalf("no reconnect after warning: %v", err)
	}
	// The socket drops while a command is being worked on: the acked command
	// still gets its answer.
	e.do.SetLatency(1500 * time.Millisecond)
	id := e.sendAcked(t, e2eTeacher, "cost") // asks DigitalOcean (status reads only the store)
	e.slack.DropConnection()
	expectReply(t, e.reply(t, id), "*1 droplets* cost $")
	e.do.SetLatency(0)
	if err := e.slack.WaitConnections(ctx, 4); err != nil {
		t.Fatalf("no reconnect after a dropped socket: %v", err)
	}
	expectReply(t, e.send(t, e2eEmma, "status"), "198.18.0.10")

	if to := e.slack.TimedOut(); len(to) > 0 {
		t.Errorf("%d envelopes were not acked within Slack's 3 s: %+v", len(to), to)
	}
	for _, secret := range []string{e2eAppToken, e2eBotToken, e2eDOToken, "AAAAC3NzaC1lZDI1NTE5AAAAIBR6U3SLtWbwyk7YBhJDpApdM5eVVl0HFh4ESCe5dWVd"} {
		if strings.Contains(e.stderr.String(), secret) {
			t.Errorf("the log contains a secret or key: %q", secret)
		}
	}
}

func TestServeFinishesInFlightCommandsOnSIGTERM(t *testing.T) {
	e := startServe(t)
	e.do.SetLatency(time.Second)
	id := e.sendAcked(t, e2eTeacher, "status all")
	if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	expectReply(t, e.reply(t, id), "VMs on cicf.cloud")
	select {
	case err := <-e.done:
		if err != nil {
			t.Fatalf("cicf-bot serve after SIGTERM: %v, want exit 0\n%s", err, e.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("cicf-bot serve did not exit within 10 s of SIGTERM\n%s", e.stderr)
	}
}

func TestBadTokensExit2NamingTheVariable(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"no app token", []string{"SLACK_BOT_TOKEN=" + e2eBotToken, "DIGITALOCEAN_TOKEN=" + e2eDOToken}, "SLACK_APP_TOKEN is not set"},
		{"bot token as app token", []string{"SLACK_APP_TOKEN=" + e2eBotToken, "SLACK_BOT_TOKEN=" + e2eBotToken, "DIGITALOCEAN_TOKEN=" + e2eDOToken}, "SLACK_APP_TOKEN is malformed"},
		{"no do token", []string{"SLACK_APP_TOKEN=" + e2eAppToken, "SLACK_BOT_TOKEN=" + e2eBotToken}, "DIGITALOCEAN_TOKEN is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(botBinary, "serve")
			cmd.Dir = t.TempDir()
			cmd.Env = append(tt.env, "CICF_DB="+filepath.Join(cmd.Dir, "x.db"))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != 2 {
				t.Fatalf("exit code %d (%v), want 2", code, err)
			}
			out := strings.TrimSpace(stderr.String())
			if strings.Count(out, "\n") != 0 || !strings.Contains(out, tt.want) {
				t.Errorf("stderr = %q, want one line containing %q", out, tt.want)
			}
			if strings.Contains(out, "secret") {
				t.Errorf("stderr repeats a token: %q", out)
			}
		})
	}
}

func TestConsoleAndDemoRunScripts(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		in   string
		want []string
	}{
		{"demo as instructor", []string{"demo"}, nil, "/cicf roster add zoe U0ZOE0001\n/cicf status zoe\n", []string{"SIMULATED", "need attention", "Added `zoe`", "zoe.cicf.cloud* — no VM yet"}},
		{"demo as student", []string{"demo", "--as", "U0EMMA001"}, nil, "/cicf roster list\n", []string{"commands for students", "*emma.cicf.cloud*", "Only instructors"}},
		{"console", []string{"console"}, []string{"DIGITALOCEAN_TOKEN=dop_v1_console_token", "DIGITALOCEAN_API_URL=http://127.0.0.1:9/"}, "help\nroster add emma U0EMMA001\nroster list\n", []string{"commands for instructors", "Added `emma`", "*1 students*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(botBinary, tt.args...)
			cmd.Dir = t.TempDir()
			cmd.Env = append(tt.env, "CICF_DB="+filepath.Join(cmd.Dir, "c.db"))
			cmd.Stdin = strings.NewReader(tt.in)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %v\n%s", tt.args, err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("%v output lacks %q:\n%s", tt.args, w, out)
				}
			}
		})
	}
}

func TestRenderWritesPayloadWithoutAPICalls(t *testing.T) {
	dir := t.TempDir()
	env := []string{"CICF_DB=" + filepath.Join(dir, "c.db"), "DIGITALOCEAN_TOKEN=dop_v1_render_token", "DIGITALOCEAN_API_URL=http://127.0.0.1:9/"}
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBR6U3SLtWbwyk7YBhJDpApdM5eVVl0HFh4ESCe5dWVd emma@laptop"
	setup := exec.Command(botBinary, "console")
	setup.Env, setup.Dir, setup.Stdin = env, dir, strings.NewReader("roster add emma U0EMMA001 "+key+"\nroster add noah U0NOAH001\n")
	if out, err := setup.CombinedOutput(); err != nil {
		t.Fatalf("console: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "out")
	cmd := exec.Command(botBinary, "render", "emma", "--out", out)
	cmd.Env, cmd.Dir = []string{"CICF_DB=" + filepath.Join(dir, "c.db")}, dir // no tokens needed
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("render: %v\n%s", err, b)
	}
	ud, err := os.ReadFile(filepath.Join(out, "user-data.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"#cloud-config", "AAAAC3NzaC1lZDI1NTE5AAAAIBR6U3SLtWbwyk7YBhJDpApdM5eVVl0HFh4ESCe5dWVd", "ssh_pwauth: false", "ed25519_private"} {
		if !strings.Contains(string(ud), w) {
			t.Errorf("user-data lacks %q", w)
		}
	}
	for _, f := range []string{"home/cicf/data/Caddyfile", "home/cicf/data/compose.yml", "home/cicf/data/.env", "etc/systemd/system/jupyter-caddy.service"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("render did not write %s: %v", f, err)
		}
	}
	noKey := exec.Command(botBinary, "render", "noah", "--out", filepath.Join(dir, "out2"))
	noKey.Env, noKey.Dir = cmd.Env, dir
	b, err := noKey.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "noah has no SSH public key") {
		t.Errorf("render of a student without a key: %v\n%s", err, b)
	}
}

func TestRosterImport(t *testing.T) {
	dir := t.TempDir()
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBR6U3SLtWbwyk7YBhJDpApdM5eVVl0HFh4ESCe5dWVd emma@laptop"
	csvPath := filepath.Join(dir, "class.csv")
	csv := "name,slack_id,email,key\n" +
		"emma,U0EMMA001,emma@example.edu," + key + "\n" +
		"Dylan, U0DYLAN01,,\n" +
		"\n" +
		"bad_name,U0BAD0001,,\n" +
		"twin,U0EMMA001,,\n"
	if err := os.WriteFile(csvPath, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"CICF_DB=" + filepath.Join(dir, "c.db")}
	run := func(args ...string) (string, int) {
		cmd := exec.Command(botBinary, args...)
		cmd.Env, cmd.Dir = env, dir
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	out, code := run("roster", "import", csvPath)
	for _, w := range []string{"2 added, 0 updated, 0 unchanged, 2 skipped", "class.csv:5:", "not a valid name", "class.csv:6:", `already on the roster as "emma"`} {
		if !strings.Contains(out, w) {
			t.Errorf("import output lacks %q:\n%s", w, out)
		}
	}
	if code != 1 {
		t.Errorf("import with rejected rows exited %d, want 1", code)
	}
	// Fixed file: importing again updates instead of duplicating.
	if err := os.WriteFile(csvPath, []byte("emma,U0EMMA001,new@example.edu,"+key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := run("roster", "import", csvPath); code != 0 || !strings.Contains(out, "0 added, 1 updated, 0 unchanged, 0 skipped") {
		t.Errorf("second import: exit %d\n%s", code, out)
	}
	if out, code := run("roster", "list"); code != 2 || !strings.Contains(out, "usage: cicf-bot roster import") {
		t.Errorf("roster list on the command line: exit %d\n%s", code, out)
	}
}
