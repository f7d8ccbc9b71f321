package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/internal/slacksim"
	"github.com/cicf/cicf-bot/internal/testvm"
	"github.com/cicf/cicf-bot/probe"
	"github.com/cicf/cicf-bot/store"
)

// startSelfServe runs serve against a DigitalOcean stand-in whose droplets
// boot light test VMs (real sshd, real Caddy) from index on.
func startSelfServe(t *testing.T, index int) (*serveEnv, *testvm.Fleet, *testvm.CA) {
	t.Helper()
	ca := testvm.NewCA(t)
	fleet := testvm.NewFleet(t, index, ca)
	sim := dosim.New(dosim.Options{Token: e2eDOToken, BootDelay: 300 * time.Millisecond, ActionDelay: 100 * time.Millisecond, AssignIP: fleet.AssignIP, OnCreate: fleet.OnCreate})
	fleet.Attach(sim)
	sim.AddDomain("cicf.cloud")
	cfg := filepath.Join(t.TempDir(), "cicf-bot.toml")
	if err := os.WriteFile(cfg, []byte("poll_interval = \"200ms\"\nlog_level = \"debug\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return startServeWith(t, sim, "CICF_CONFIG="+cfg, "SSL_CERT_FILE="+fleet.CAFile()), fleet, ca
}

// waitRunOf asks `runs` until the run titled title (e.g. "reset of emma")
// has ended and returns its line.
func waitRunOf(t *testing.T, e *serveEnv, title string) string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute) // a safety net, not an assertion
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(e.send(t, e2eTeacher, "runs"), "\n") {
			if strings.Contains(line, title) && (strings.Contains(line, "done") || strings.Contains(line, "failed")) {
				return line
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s did not end within 3 minutes", title)
	return ""
}

var codeBlockRE = regexp.MustCompile("(?s)```\n(.*?)\n```")

// codeBlocks returns the fenced blocks of a reply, unescaped from mrkdwn.
func codeBlocks(reply string) []string {
	var out []string
	for _, m := range codeBlockRE.FindAllStringSubmatch(reply, -1) {
		out = append(out, strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(m[1]))
	}
	return out
}

// studentHome is a student's laptop: a home directory with ~/.ssh holding
// only what the bot told them, and an /etc/hosts that resolves the VM's
// name, both mounted over the machine's own in a private mount namespace
// so that the real ssh client uses them unchanged.
type studentHome struct {
	t    *testing.T
	dir  string // mounted on /root
	host string // /etc/hosts
}

func newStudentHome(t *testing.T, privateKey []byte) *studentHome {
	t.Helper()
	h := &studentHome{t: t, dir: t.TempDir(), host: filepath.Join(t.TempDir(), "hosts")}
	if err := os.MkdirAll(filepath.Join(h.dir, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	h.write("id_ed25519", string(privateKey))
	return h
}

func (h *studentHome) write(name, data string) {
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(h.dir, ".ssh", name), []byte(data), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

func (h *studentHome) resolve(name, ip string) {
	h.t.Helper()
	if err := os.WriteFile(h.host, []byte(fmt.Sprintf("127.0.0.1 localhost\n%s %s\n", ip, name)), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// run runs a command line as the student would type it and returns its
// standard output, and standard error in the error.
func (h *studentHome) run(cmdline string) (string, error) {
	h.t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		h.t.Fatalf("unshare (util-linux) is needed to give ssh a private home: %v", err)
	}
	script := fmt.Sprintf("mount --bind %s /root && mount --bind %s /etc/hosts && cd /root && %s", h.dir, h.host, cmdline)
	var stderr strings.Builder
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		err = fmt.Errorf("%w: %s", err, stderr.String())
	}
	return string(out), err
}

func newStudentKey(t *testing.T) (public string, private []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "emma@laptop")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " emma@laptop", pem.EncodeToMemory(block)
}

// TestServeStudentSelfService walks a student from "I have a key" to a
// verified first SSH login and a working JupyterLab password, through the
// real binary, real ssh, sshd and Caddy (issue 7).
func TestServeStudentSelfService(t *testing.T) {
	e, fleet, ca := startSelfServe(t, 133)
	pub, priv := newStudentKey(t)
	expectReply(t, e.send(t, e2eTeacher, "roster add emma <@"+e2eEmma+"|emma>"), "Added `emma`")
	expectReply(t, e.send(t, e2eEmma, "key "+pub), "Saved the SSH key", "used when the VM is created")
	expectReply(t, e.send(t, e2eTeacher, "provision emma"), "emma")
	if line := waitRunOf(t, e, "provision of emma"); !strings.Contains(line, "done") {
		t.Fatalf("provision = %q, want done", line)
	}
	ip := dropletIP(t, e, "emma.cicf.cloud")

	// 0. The welcome DM: card, SSH settings, how to set the password.
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	dm, err := e.slack.WaitCall(wctx, "chat.postMessage", func(c slacksim.Call) bool {
		return c.Param("channel") == e2eEmma && strings.Contains(c.Param("text"), "is ready")
	})
	if err != nil {
		t.Fatalf("no welcome DM to emma: %v", err)
	}
	welcome := blockTexts(t, dm.Param("blocks"))
	expectReply(t, welcome, "Your VM `emma.cicf.cloud` is ready", "*emma.cicf.cloud* — :large_green_circle: running", "Host emma.cicf.cloud emma", "`/cicf password`", "https://emma.cicf.cloud")

	// 1. ssh-config: the real ssh, with only what the bot said, logs in.
	home := newStudentHome(t, priv)
	home.resolve("emma.cicf.cloud", ip)
	blocks := codeBlocks(e.send(t, e2eEmma, "ssh-config"))
	if len(blocks) != 2 {
		t.Fatalf("ssh-config gave %d code blocks, want 2: %q", len(blocks), blocks)
	}
	if w := codeBlocks(welcome); strings.Join(w, "\n") != strings.Join(blocks, "\n") {
		t.Errorf("the welcome's SSH settings %q differ from ssh-config's %q", w, blocks)
	}
	home.write("config", blocks[0])
	home.write("known_hosts", blocks[1]+"\n")
	ssh := "ssh -o BatchMode=yes -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes "
	if out, err := home.run(ssh + "emma id -un"); err != nil || strings.TrimSpace(out) != "cicf" {
		t.Fatalf("ssh emma with the bot's config and known_hosts = %q, %v; want cicf", out, err)
	}

	// 2. password: the modal opens at once, refuses bad ones on the field,
	// and the good one works from outside.
	e.sendAcked(t, e2eEmma, "password")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	view, err := e.slack.WaitView(ctx, func(v slacksim.View) bool { return v.UserID == e2eEmma && v.CallbackID == "cicf_password" })
	if err != nil {
		t.Fatalf("no password modal: %v", err)
	}
	if view.TriggerAge > time.Second {
		t.Errorf("views.open used a trigger %v old, want well within 3 s", view.TriggerAge)
	}
	const pw = "sardine kettle marble 7"
	submit := func(value string) map[string]string {
		t.Helper()
		id, err := e.slack.SubmitView(ctx, view, map[string]map[string]string{"cicf_password": {"password": value}})
		if err != nil {
			t.Fatal(err)
		}
		errs, err := e.slack.SubmissionErrors(ctx, id, view)
		if err != nil {
			t.Fatal(err)
		}
		return errs
	}
	for value, want := range map[string]string{"short": "at least 12", "EMMA.cicf.cloud": "VM's name", strings.Repeat("x", 73): "at most 72 bytes"} {
		if errs := submit(value); !strings.Contains(errs["cicf_password"], want) {
			t.Errorf("submit %.20q: errors %v, want %q on the field", value, errs, want)
		}
	}
	if errs := submit(pw); errs != nil {
		t.Fatalf("submit a good password: errors %v", errs)
	}
	if _, err := e.slack.WaitCall(ctx, "chat.postEphemeral", func(c slacksim.Call) bool {
		return c.Param("user") == e2eEmma && strings.Contains(c.Param("text"), "password is set")
	}); err != nil {
		t.Fatalf("no ephemeral saying the password is set: %v", err)
	}
	p := &probe.Prober{RootCAs: ca.Pool}
	for _, tc := range []struct {
		pw   string
		want bool // 401
	}{{pw, false}, {"sardine kettle marble 8", true}} {
		if st, err := p.HTTPSAuth(ctx, ip, "emma.cicf.cloud", "cicf", tc.pw); err != nil || (st == 401) != tc.want {
			t.Errorf("HTTPS with %q = %d, %v; want 401: %v", tc.pw, st, err, tc.want)
		}
	}
	if st, _, err := p.HTTPS(ctx, ip, "emma.cicf.cloud"); err != nil || st != 401 {
		t.Errorf("HTTPS without a password = %d, %v; want 401", st, err)
	}
	// The password is nowhere: not in the log, the store (audit included),
	// nor anything the bot sent to Slack.
	assertNoSecret(t, e, pw)

	// 3. A VM whose host key changed is refused by the student's ssh.
	vm := fleet.VM(dropletID(t, e, "emma.cicf.cloud"))
	if out, err := vm.Exec("/bin/sh", "-c", "rm -f /etc/ssh/ssh_host_ed25519_key* && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key && systemctl reload ssh"); err != nil {
		t.Fatalf("replace host key: %v\n%s", err, out)
	}
	if out, err := home.run(ssh + "emma id -un"); err == nil || !strings.Contains(err.Error(), "REMOTE HOST IDENTIFICATION HAS CHANGED") {
		t.Errorf("ssh to a VM with a changed host key = %q, %v; want it refused", out, err)
	}

	// 4. After a reset, the bot's lines (remove the old key, add the new)
	// let ssh in again, still strictly.
	value := buttonValue(t, e, e.sendAcked(t, e2eTeacher, "reset emma"))
	e.click(t, e2eTeacher, "cicf_confirm", value)
	if line := waitRunOf(t, e, "reset of emma"); !strings.Contains(line, "done") {
		t.Fatalf("reset = %q, want done", line)
	}
	home.resolve("emma.cicf.cloud", dropletIP(t, e, "emma.cicf.cloud"))
	blocks = codeBlocks(e.send(t, e2eEmma, "ssh-config"))
	if len(blocks) != 3 || blocks[1] != "ssh-keygen -R emma.cicf.cloud" {
		t.Fatalf("ssh-config after reset = %q, want config, ssh-keygen -R, known_hosts", blocks)
	}
	if out, err := home.run(blocks[1] + " >/dev/null && echo " + shellQuote(blocks[2]) + " >>.ssh/known_hosts && " + ssh + "emma id -un"); err != nil || strings.TrimSpace(out) != "cicf" {
		t.Errorf("after ssh-keygen -R and the new line, ssh = %q, %v; want cicf", out, err)
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func dropletID(t *testing.T, e *serveEnv, name string) int {
	t.Helper()
	for _, d := range e.do.Droplets() {
		if d.Name == name {
			return d.ID
		}
	}
	t.Fatalf("no droplet %s", name)
	return 0
}

func dropletIP(t *testing.T, e *serveEnv, name string) string {
	t.Helper()
	for _, d := range e.do.Droplets() {
		if d.Name == name && d.IPv4 != "" {
			return d.IPv4
		}
	}
	t.Fatalf("no droplet %s with an address", name)
	return ""
}

// assertNoSecret fails if secret is in the bot's log, its database files
// (roster, runs, audit log) or any Web API call it made.
func assertNoSecret(t *testing.T, e *serveEnv, secret string) {
	t.Helper()
	if strings.Contains(e.stderr.String(), secret) {
		t.Errorf("the bot's log holds the password")
	}
	files, _ := filepath.Glob(filepath.Join(e.cmd.Dir, "cicf.db*"))
	if len(files) == 0 {
		t.Errorf("no database files to check in %s", e.cmd.Dir)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), secret) {
			t.Errorf("%s holds the password", filepath.Base(f))
		}
	}
	for _, c := range e.slack.Calls() {
		if strings.Contains(c.Params.Encode()+string(c.JSON), secret) || strings.Contains(c.Params.Encode(), strings.ReplaceAll(secret, " ", "+")) {
			t.Errorf("Slack call %s carries the password", c.Method)
		}
	}
	for _, a := range e.slack.Acks() {
		if strings.Contains(string(a.Payload), secret) {
			t.Errorf("an ack carries the password")
		}
	}
	// The audit table has the submissions, without the password.
	db, err := store.Open(context.Background(), filepath.Join(e.cmd.Dir, "cicf.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	entries, err := store.NewAuditLog(db).ListAudit(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	forms := 0
	for _, a := range entries {
		if strings.Contains(a.Args, secret) || strings.Contains(a.Verb, secret) {
			t.Errorf("audit entry %+v holds the password", a)
		}
		if a.Verb == "password" && a.Args == "(form)" && a.UserID == e2eEmma {
			forms++
		}
	}
	if forms == 0 {
		t.Errorf("no audit entry for emma's password form in %d entries", len(entries))
	}
}

// TestDemoAsStudentWalksTheFlow: `demo --as` shows a student's own flow
// (key pushed, ssh-config, the password form) and then takes typed input,
// where a password is read from the piped line and never echoed.
func TestDemoAsStudentWalksTheFlow(t *testing.T) {
	const typed = "piped secret words 99"
	cmd := exec.Command(botBinary, "demo", "--as", "U0EMMA001")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"CICF_DB=" + filepath.Join(cmd.Dir, "c.db")}
	cmd.Stdin = strings.NewReader("/cicf password\n" + typed + "\n/cicf key dylan " + studentKey(t) + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo --as: %v\n%s", err, out)
	}
	got := string(out)
	last := -1
	for _, w := range []string{
		"*Getting started*", "*emma.cicf.cloud* — :large_green_circle: running",
		"It is now the key that logs in to `emma.cicf.cloud`",
		"Host emma.cicf.cloud emma", "IdentitiesOnly yes", "256 SHA256:",
		"[the demo types one]", "password is set",
		"New JupyterLab password (not shown):", "password is set",
		"You can only set your own key",
	} {
		i := strings.Index(got[last+1:], w)
		if i < 0 {
			t.Fatalf("demo --as output lacks %q after position %d:\n%s", w, last, got)
		}
		last += 1 + i
	}
	if strings.Contains(got, typed) {
		t.Errorf("demo --as echoed the typed password:\n%s", got)
	}
}

// blockTexts joins the text of every section in a blocks JSON parameter.
func blockTexts(t *testing.T, raw string) string {
	t.Helper()
	var blocks []struct {
		Text struct{ Text string } `json:"text"`
	}
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		t.Fatalf("blocks %q: %v", raw, err)
	}
	var b strings.Builder
	for _, bl := range blocks {
		b.WriteString(bl.Text.Text + "\n")
	}
	return b.String()
}

// TestServePasswordRefusals: no form opens for someone who may not set a
// password, and a forged submission changes nothing and says why.
func TestServePasswordRefusals(t *testing.T) {
	e := startServe(t)
	expectReply(t, e.send(t, e2eTeacher, "roster add emma <@"+e2eEmma+"|emma> "+studentKey(t)), "Added `emma`")
	expectReply(t, e.send(t, e2eStranger, "password"), "not on the class roster")
	expectReply(t, e.send(t, e2eTeacher, "password"), "is for students")
	expectReply(t, e.send(t, e2eEmma, "password"), "Your VM is not running yet")
	if v := e.slack.Views(); len(v) != 0 {
		t.Errorf("views opened for callers who may not set a password: %+v", v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	forged := slacksim.View{UserID: e2eStranger, CallbackID: "cicf_password", InputBlocks: []string{"cicf_password"},
		JSON: json.RawMessage(`{"id":"V0FORGED","type":"modal","callback_id":"cicf_password","private_metadata":"C0CLASS01"}`)}
	id, err := e.slack.SubmitView(ctx, forged, map[string]map[string]string{"cicf_password": {"password": "a perfectly long one 1"}})
	if err != nil {
		t.Fatal(err)
	}
	if errs, err := e.slack.SubmissionErrors(ctx, id, forged); err != nil || errs != nil {
		t.Errorf("forged submission ack: errors %v, %v; want the modal closed", errs, err)
	}
	if _, err := e.slack.WaitCall(ctx, "chat.postEphemeral", func(c slacksim.Call) bool {
		return c.Param("user") == e2eStranger && c.Param("channel") == "C0CLASS01" && strings.Contains(c.Param("text"), "not on the class roster")
	}); err != nil {
		t.Errorf("no ephemeral refusal for the forged submission: %v", err)
	}
	if strings.Contains(e.stderr.String(), "a perfectly long one 1") {
		t.Errorf("the log holds the submitted password")
	}
}
