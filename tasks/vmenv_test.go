package tasks_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/digitalocean"
	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/internal/testvm"
	"github.com/cicf/cicf-bot/probe"
	"github.com/cicf/cicf-bot/sshclient"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// cloudEnv is a Runner whose droplets are real test VMs: every droplet the
// bot creates boots, in a network namespace at 198.18.N.2, a real sshd with
// the host key and authorized keys from the user-data the bot sent, and
// serves HTTPS with the real Caddy from the payload the bot uploads.
type cloudEnv struct {
	t        *testing.T
	sim      *dosim.Server
	ca       *testvm.CA
	runner   *tasks.Runner
	runs     *store.RunService
	vms      *store.VMService
	students *store.StudentService
	ssh      tasks.RemoteDialer // the bot's own, as the runner uses it

	fleet *testvm.Fleet
}

func newCloudEnv(t *testing.T, firstIndex int) *cloudEnv {
	t.Helper()
	ctx := context.Background()
	e := &cloudEnv{t: t, ca: testvm.NewCA(t)}
	logger := slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.fleet = testvm.NewFleet(t, firstIndex, e.ca)
	e.sim = dosim.New(dosim.Options{
		Token: "t", BootDelay: 300 * time.Millisecond, ActionDelay: 100 * time.Millisecond,
		AssignIP: e.fleet.AssignIP, OnCreate: e.fleet.OnCreate,
	})
	e.fleet.Attach(e.sim)
	e.sim.AddDomain(domain)
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "cicf.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sshclient.LoadOrCreateKey(filepath.Join(t.TempDir(), "bot_ed25519"))
	if err != nil {
		t.Fatal(err)
	}
	e.students, e.vms, e.runs = store.NewStudentService(db), store.NewVMService(db), store.NewRunService(db)
	e.ssh = sshclient.NewDialer(signer, sshclient.DialerConfig{Logger: logger})
	e.runner = tasks.NewRunner(tasks.RunnerConfig{
		Domain: domain, Region: "nyc3", Size: "s-1vcpu-2gb", Image: "debian-12-x64", Tag: classTag,
		PollInterval: 100 * time.Millisecond, BootTimeout: 30 * time.Second, SSHTimeout: time.Minute, VerifyTimeout: 30 * time.Second,
	}, tasks.RunnerDeps{
		Runs: e.runs, VMs: e.vms, Students: e.students, Records: store.NewDNSRecordStore(db),
		Cloud:  digitalocean.New(digitalocean.Config{Token: "t", BaseURL: e.sim.URL(), RatePerMinute: 1 << 20, PollInterval: 50 * time.Millisecond, Logger: logger}),
		SSH:    e.ssh,
		Prober: &probe.Prober{RootCAs: e.ca.Pool},
		Now:    time.Now, Logger: logger,
	})
	// Cleanups run last-in first-out: runs stop, VMs finish booting (and are
	// stopped by their own cleanups), then the store and the stand-in close.
	t.Cleanup(func() { db.Close() })
	t.Cleanup(e.sim.Close)
	t.Cleanup(e.runner.Close)
	return e
}

// student adds name with a fresh key and returns the key's signer.
func (e *cloudEnv) student(name string) ssh.Signer {
	e.t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		e.t.Fatal(err)
	}
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + name + "@laptop"
	if err := e.students.CreateStudent(context.Background(), &tasks.Student{Name: name, SlackID: slackID(name), PublicKey: key}); err != nil {
		e.t.Fatal(err)
	}
	return signer
}

// run starts kind on name, waits for every run to end and returns it.
func (e *cloudEnv) run(kind tasks.RunKind, name string) *tasks.Run {
	e.t.Helper()
	r, err := e.runner.Start(context.Background(), kind, name, "U0TEACH01", "U0TEACH01")
	if err != nil {
		e.t.Fatalf("Start(%s, %s) = %v", kind, name, err)
	}
	e.runner.Wait()
	r, err = e.runs.FindRun(context.Background(), r.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// vm returns the test VM behind droplet id.
func (e *cloudEnv) vm(id int) *testvm.VM { return e.fleet.VM(id) }

// loginAs opens an SSH session as cicf with signer, trusting only hostKey,
// as a student whose known_hosts holds the pinned key would.
func loginAs(t *testing.T, addr string, signer ssh.Signer, hostKey string) (string, error) {
	t.Helper()
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hostKey))
	if err != nil {
		t.Fatalf("pinned key %q: %v", hostKey, err)
	}
	c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: "cicf", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(pk), Timeout: 10 * time.Second,
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.Output("id -un")
	return strings.TrimSpace(string(out)), err
}

// testLog sends log lines to the test log, shown when a test fails.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
