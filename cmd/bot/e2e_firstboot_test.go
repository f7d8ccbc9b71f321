package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/internal/slacksim"
	"github.com/cicf/cicf-bot/internal/testvm"
)

// startRealFirstBoot runs serve against a DigitalOcean stand-in whose
// droplets boot the real Debian 12 root with the real cloud-init from the
// user-data the bot sent (issue 9), as VM number index.
func startRealFirstBoot(t *testing.T, index int, opt testvm.DebianOptions) (*serveEnv, *testvm.Fleet) {
	t.Helper()
	fleet := testvm.NewFleet(t, index, testvm.NewCA(t))
	fleet.Debian = &opt
	sim := dosim.New(dosim.Options{Token: e2eDOToken, AssignIP: fleet.AssignIP, OnCreate: fleet.OnCreate})
	fleet.Attach(sim)
	sim.AddDomain("cicf.cloud")
	cfg := filepath.Join(t.TempDir(), "cicf-bot.toml")
	if err := os.WriteFile(cfg, []byte("poll_interval = \"200ms\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startServeWith(t, sim, "CICF_CONFIG="+cfg, "SSL_CERT_FILE="+fleet.CAFile())
	expectReply(t, e.send(t, e2eTeacher, "roster add emma <@"+e2eEmma+"|emma> "+studentKey(t)), "Added `emma`")
	return e, fleet
}

// waitRun asks `runs` until emma's provision has ended and returns its line.
func waitRun(t *testing.T, e *serveEnv) string {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute) // a safety net, not an assertion
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(e.send(t, e2eTeacher, "runs"), "\n") {
			if strings.Contains(line, "provision of emma") && (strings.Contains(line, "done") || strings.Contains(line, "failed")) {
				return line
			}
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("emma's provision did not end within 4 minutes")
	return ""
}

// TestServeProvisionsRealFirstBoot provisions through serve onto a droplet
// that runs the real cloud-init on Debian 12: the run's own "wait for
// cloud-init", host key rotation, upload (real sudo), service start and
// check from outside (real ufw in front) face the real thing.
func TestServeProvisionsRealFirstBoot(t *testing.T) {
	e, fleet := startRealFirstBoot(t, 60, testvm.DebianOptions{})
	expectReply(t, e.send(t, e2eTeacher, "provision emma"), "emma")
	if line := waitRun(t, e); !strings.Contains(line, ":white_check_mark: done") {
		t.Fatalf("emma's provision = %q, want done", line)
	}
	var id int
	for _, d := range e.do.Droplets() {
		if d.Name == "emma.cicf.cloud" {
			id = d.ID
		}
	}
	vm := fleet.VM(id)
	if out, err := vm.Exec("cloud-init", "status"); err != nil || string(out) != "status: done\n" {
		t.Errorf("the VM's cloud-init status = %q, %v; want done", out, err)
	}
	if out, err := vm.Exec("ufw", "status"); err != nil || !strings.HasPrefix(string(out), "Status: active\n") {
		t.Errorf("the VM's ufw status = %q, %v; want active", out, err)
	}
	// No systemd in a namespace: the systemctl stand-in records the run's
	// service start and sshd reload (after the host key rotation).
	recs := strings.Join(vm.Records(), "\n")
	for _, want := range []string{"systemctl reload ssh", "systemctl enable --now jupyter-caddy.service"} {
		if !strings.Contains(recs, want) {
			t.Errorf("the VM's records lack %q:\n%s", want, recs)
		}
	}
	if out, err := vm.Exec("stat", "-c", "%a %U", "/home/cicf/data/.env"); err != nil || string(out) != "600 cicf\n" {
		t.Errorf("the uploaded .env is %q, %v; want mode 600, owned by cicf", out, err)
	}
}

// TestServeProvisionStopsOnCloudInitError: with Docker's repository down,
// the real cloud-init reports an error and the run stops there, naming the
// failing module, instead of going on to a half-set-up VM.
func TestServeProvisionStopsOnCloudInitError(t *testing.T) {
	e, _ := startRealFirstBoot(t, 61, testvm.DebianOptions{DockerDown: true})
	expectReply(t, e.send(t, e2eTeacher, "provision emma"), "emma")
	line := waitRun(t, e)
	if !strings.Contains(line, ":x: failed") {
		t.Fatalf("emma's provision = %q, want failed", line)
	}
	// The instructor's progress message says why, naming the module.
	names := func(c slacksim.Call) bool {
		return c.Param("channel") == e2eTeacher && strings.Contains(c.Param("text")+string(c.JSON), "cloud-init failed on emma in module scripts-user")
	}
	var err error
	for _, method := range []string{"chat.update", "chat.postMessage"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = e.slack.WaitCall(ctx, method, names)
		cancel()
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Errorf("no message to the instructor names the failing module scripts-user: %v", err)
	}
}
