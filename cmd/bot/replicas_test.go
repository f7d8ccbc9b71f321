package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/dosim"
)

// Two bot processes on one database share the reconcile job: the second,
// started while the first holds the job's lease, does not ask DigitalOcean
// and shows the first one's view; when the first stops it gives the lease
// back, and the next process reconciles at once.
func TestReplicasShareTheReconcileJob(t *testing.T) {
	const token = "dop_v1_replica_token"
	do := dosim.New(dosim.Options{Token: token})
	t.Cleanup(do.Close)
	dir := t.TempDir()
	env := []string{"CICF_DB=" + filepath.Join(dir, "c.db"), "DIGITALOCEAN_TOKEN=" + token, "DIGITALOCEAN_API_URL=" + do.URL()}
	lists := func() int { return do.Counts()["GET /v2/droplets"] }
	console := func(stdin string) string {
		t.Helper()
		cmd := exec.Command(botBinary, "console")
		cmd.Env, cmd.Dir, cmd.Stdin = env, dir, strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("console: %v\n%s", err, out)
		}
		return string(out)
	}

	first := exec.Command(botBinary, "console")
	first.Env, first.Dir = env, dir
	stdin, err := first.StdinPipe() // open: the first replica keeps running
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	first.Stdout, first.Stderr = &out, &out
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Process.Kill(); first.Wait() })
	for deadline := time.Now().Add(30 * time.Second); lists() < 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the first replica never asked DigitalOcean:\n%s", out.String())
		}
	}

	status := console("status\n")
	if n := lists(); n != 1 {
		t.Errorf("DigitalOcean listed %d times after the second replica started, want 1 (the first's)", n)
	}
	if strings.Contains(status, "Not fresh") {
		t.Errorf("the second replica's status is not fresh; want the first one's view:\n%s", status)
	}

	stdin.Close()
	if err := first.Wait(); err != nil {
		t.Fatalf("first replica: %v\n%s", err, out.String())
	}
	console("")
	if n := lists(); n != 2 {
		t.Errorf("DigitalOcean listed %d times after the first replica stopped and a third started, want 2", n)
	}
}
