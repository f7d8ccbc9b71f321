package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/digitalocean"
	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/internal/vmsim"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// Class settings, as in the bot's default config.
const (
	domain = "cicf.cloud"
	tag    = "cicf"
	token  = "bench-token"
)

// env is one scenario's world, built fresh so no scenario inherits another's
// droplets, records, rate window or cached droplet list: a temporary SQLite
// store, the DO stand-in, the simulated VMs, the real DO adapter and a
// tasks.Runner wired as in cmd/bot (demo.go).
type env struct {
	dir      string
	db       *store.DB
	sim      *dosim.Server
	fleet    *vmsim.Fleet
	runner   *tasks.Runner
	students *store.StudentService
	runs     *store.RunService
	vms      *store.VMService
	steps    *stepClock
}

// newEnv builds a world with a roster of students, each with an SSH key.
func newEnv(ctx context.Context, cfg config, students int, seed uint64, logger *slog.Logger) (_ *env, err error) {
	e := &env{steps: &stepClock{}}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.dir, err = os.MkdirTemp("", "cicf-bench-provision-"); err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	if e.db, err = store.Open(ctx, filepath.Join(e.dir, "bench.db"), time.Now); err != nil {
		return nil, err
	}
	e.students, e.runs, e.vms = store.NewStudentService(e.db), store.NewRunService(e.db), store.NewVMService(e.db)

	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := range students {
		s := &tasks.Student{Name: studentName(i), SlackID: fmt.Sprintf("U%08d", i), PublicKey: studentKey(rnd, studentName(i)+"@laptop")}
		if err := e.students.CreateStudent(ctx, s); err != nil {
			return nil, fmt.Errorf("add student %s: %w", s.Name, err)
		}
	}

	// The demo's wiring: the stand-in picks each droplet's address and the
	// simulated VM boots there with the droplet's user-data, so the host
	// key the runner pinned is the one the VM presents.
	e.fleet = vmsim.New(cfg.scaled(cfg.sshLatency))
	var (
		dialer tasks.RemoteDialer = e.fleet
		slow   *slowCloudInit
	)
	if cfg.cloudInit > 0 {
		slow = &slowCloudInit{RemoteDialer: e.fleet, after: cfg.scaled(cfg.boot + cfg.cloudInit)}
		dialer = slow
	}
	e.sim = dosim.New(dosim.Options{
		Token: token, RatePerMinute: cfg.doRate, TimeScale: cfg.scale,
		Latency: cfg.latencyMin, BootDelay: cfg.boot, ActionDelay: cfg.action,
		AssignIP: e.fleet.AssignIP,
		OnCreate: func(d dosim.DropletInfo) {
			e.fleet.OnCreate(d)
			if slow != nil {
				slow.created(e.fleet.IP(d.ID))
			}
		},
	})
	e.fleet.Attach(e.sim)
	e.sim.AddDomain(domain)

	var transport http.RoundTripper = &jitter{base: http.DefaultTransport, max: cfg.scaled(cfg.latencyMax - cfg.latencyMin), rnd: rand.New(rand.NewPCG(seed+1, seed))}
	rate := cfg.rate
	if cfg.pacer == "window" {
		transport, rate = &windowPacer{base: transport, limit: cfg.rate, window: cfg.scaled(time.Minute + cfg.margin)}, -1
	}
	cloud := digitalocean.New(digitalocean.Config{
		Token: token, BaseURL: e.sim.URL(), Logger: logger, Transport: transport,
		Timeout:       cfg.callTimeout(),
		RatePerMinute: rate, RateWindow: cfg.scaled(time.Minute),
		PollInterval: cfg.scaled(time.Second), ActionTimeout: cfg.scaled(5 * time.Minute),
	})
	e.runner = tasks.NewRunner(tasks.RunnerConfig{
		Domain: domain, Region: "nyc3", Size: "s-1vcpu-2gb", Image: "debian-12-x64", Tag: tag,
		PollInterval: cfg.scaled(cfg.poll),
		BootTimeout:  cfg.scaled(10 * time.Minute), SSHTimeout: cfg.scaled(15 * time.Minute), VerifyTimeout: cfg.scaled(5 * time.Minute),
	}, tasks.RunnerDeps{
		Runs: e.runs, VMs: e.vms, Students: e.students,
		Cloud: cloud, SSH: dialer, Prober: e.fleet, Progress: e.steps,
		Now: time.Now, Logger: logger,
	})
	return e, nil
}

func (e *env) close() {
	if e.runner != nil {
		e.runner.Close()
	}
	if e.sim != nil {
		e.sim.Close()
	}
	if e.db != nil {
		e.db.Close()
	}
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
}

func studentName(i int) string { return fmt.Sprintf("student%02d", i+1) }

// studentKey returns an ed25519 public key in authorized_keys format, made
// from rnd so a seed gives the same roster.
func studentKey(rnd *rand.Rand, comment string) string {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(rnd.Uint32())
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		panic(err) // an ed25519 key always converts
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " " + comment
}

// jitter delays each request by a random share of max before sending it:
// with the stand-in's fixed Latency it spreads API latency over a range,
// and it sits below the adapter's pacer, as the network does, so requests
// arrive later and less evenly than they leave.
type jitter struct {
	base http.RoundTripper
	max  time.Duration

	mu  sync.Mutex
	rnd *rand.Rand
}

func (j *jitter) RoundTrip(req *http.Request) (*http.Response, error) {
	if j.max > 0 {
		j.mu.Lock()
		d := time.Duration(j.rnd.Int64N(int64(j.max)))
		j.mu.Unlock()
		t := time.NewTimer(d)
		select {
		case <-req.Context().Done():
			t.Stop()
			return nil, req.Context().Err()
		case <-t.C:
		}
	}
	return j.base.RoundTrip(req)
}

// stepClock is the runner's progress reporter: it notes when each run
// reaches each step, which tells where a run's time goes.
type stepClock struct {
	mu   sync.Mutex
	seen map[int64][]stepMark
}

type stepMark struct {
	step  int
	state string
	at    time.Time
}

func (c *stepClock) Report(_ context.Context, r tasks.Run) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[int64][]stepMark{}
	}
	c.seen[r.ID] = append(c.seen[r.ID], stepMark{r.Step, r.State, time.Now()})
}

// durations returns, per step index, how long each run that finished the
// step spent in it.
func (c *stepClock) durations() map[int][]time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int][]time.Duration{}
	for _, marks := range c.seen {
		for i := 1; i < len(marks); i++ {
			if marks[i].step == marks[i-1].step+1 {
				out[marks[i-1].step] = append(out[marks[i-1].step], marks[i].at.Sub(marks[i-1].at))
			}
		}
	}
	return out
}
