package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/internal/testvm"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// TestKilledWhileProvisioningResumes kills the bot with SIGKILL while it
// provisions ten real test VMs, starts it again, and checks that every run
// finishes with exactly ten droplets and ten DNS records: no duplicate, no
// orphan.
func TestKilledWhileProvisioningResumes(t *testing.T) {
	const n = 10
	fleet := testvm.NewFleet(t, 31, testvm.NewCA(t))
	sim := dosim.New(dosim.Options{
		Token: "dop_v1_crash_test", Latency: 100 * time.Millisecond, BootDelay: 500 * time.Millisecond, ActionDelay: 100 * time.Millisecond,
		AssignIP: fleet.AssignIP, OnCreate: fleet.OnCreate,
	})
	fleet.Attach(sim)
	t.Cleanup(sim.Close)
	sim.AddDomain("cicf.cloud")

	dir := t.TempDir()
	cfg := filepath.Join(dir, "cicf-bot.toml")
	if err := os.WriteFile(cfg, []byte("poll_interval = \"200ms\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "CICF_CONFIG=" + cfg, "CICF_DB=" + filepath.Join(dir, "cicf.db"),
		"DIGITALOCEAN_TOKEN=dop_v1_crash_test", "DIGITALOCEAN_API_URL=" + sim.URL(), "SSL_CERT_FILE=" + fleet.CAFile(),
	}
	var script strings.Builder
	keys := map[string]string{}
	for i := range n {
		name := fmt.Sprintf("s%02d", i)
		keys[name] = studentKey(t)
		fmt.Fprintf(&script, "roster add %s U0S%07d %s\n", name, i, keys[name])
	}
	script.WriteString("provision all\n")

	// First life: killed once some droplets exist and none has finished.
	first := exec.Command(botBinary, "console")
	first.Env, first.Dir = env, dir
	stdin, _ := first.StdinPipe()
	stdout, _ := first.StdoutPipe()
	first.Stderr = io.Discard
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(stdin, script.String()) // stdin stays open: the console keeps running
	lines := bufio.NewScanner(stdout)
	created := 0
	for lines.Scan() {
		if strings.Contains(lines.Text(), "Wait for it to boot") {
			created++
		}
		if created >= n/2 {
			break
		}
	}
	if created < n/2 {
		t.Fatalf("the first bot never got half its droplets created (%d)", created)
	}
	first.Process.Kill()
	first.Wait()
	before := len(sim.Droplets())
	t.Logf("killed the bot with %d droplets created", before)

	// Second life: resumes the runs and exits when they are done.
	second := exec.Command(botBinary, "console")
	second.Env, second.Dir, second.Stdin = env, dir, strings.NewReader("")
	out, err := second.CombinedOutput()
	if err != nil {
		t.Fatalf("second bot: %v\n%s", err, out)
	}

	// Every run finished.
	db, err := store.Open(context.Background(), filepath.Join(dir, "cicf.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runs, err := store.NewRunService(db).ListRuns(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != n {
		t.Errorf("%d runs, want %d", len(runs), n)
	}
	for _, r := range runs {
		if r.State != tasks.RunDone {
			t.Errorf("run #%d (%s) ended %s at step %d: %s", r.ID, r.VM, r.State, r.Step, r.Error)
		}
	}
	// Exactly one droplet and one A record per student.
	droplets := map[string]int{}
	for _, d := range sim.Droplets() {
		droplets[d.Name]++
	}
	records := map[string]int{}
	for _, r := range sim.Records("cicf.cloud") {
		if r.Type == "A" {
			records[r.Name]++
		}
	}
	for name := range keys {
		if droplets[name+".cicf.cloud"] != 1 || records[name] != 1 {
			t.Errorf("%s: %d droplets, %d A records; want 1 and 1", name, droplets[name+".cicf.cloud"], records[name])
		}
	}
	if len(droplets) != n || len(records) != n {
		t.Errorf("%d droplet names and %d A records in all, want %d each (droplets: %v)", len(droplets), len(records), n, droplets)
	}
	t.Logf("second life output:\n%s", out)
}

func studentKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
}
