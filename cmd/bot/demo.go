package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cicf/cicf-bot/digitalocean"
	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/internal/vmsim"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// demoStudent is one member of the simulated class.
type demoStudent struct {
	name, slackID, email string
	hasKey               bool
	droplet              string // droplet status; "" for none
	age, sinceReset      time.Duration
}

var demoClass = []demoStudent{
	{"emma", "U0EMMA001", "emma@example.edu", true, "active", 72 * time.Hour, 0},
	{"dylan", "U0DYLAN01", "", true, "active", 72 * time.Hour, 20 * time.Hour},
	{"jasmine", "U0JASMIN1", "", true, "active", 70 * time.Hour, 0},
	{"macy", "U0MACY001", "", true, "off", 71 * time.Hour, 0},
	{"naomi", "U0NAOMI01", "", true, "new", 2 * time.Minute, 0},
	{"tamara", "U0TAMARA1", "tamara@example.edu", true, "", 0, 0},
	{"aidan", "U0AIDAN01", "", false, "", 0, 0},
}

const demoBanner = `cicf-bot demo — a SIMULATED class. Nothing here touches Slack or DigitalOcean:
a stand-in for the DigitalOcean API runs on %s with %d droplets, and a
throw-away SQLite database holds the roster. You are an instructor (or the
student of --as); type /cicf commands (or "exit"): try /cicf provision tamara,
/cicf reset emma, /cicf destroy dylan. "cicf-bot demo --as U0EMMA001" walks
Emma's own flow: key, ssh-config, password.
The class channel's alerts print here as they come: jasmine has a notebook
open on port 8888, and dylan's HTTPS goes down in 10 s (try /cicf alerts).

`

var demoTour = []string{"/cicf status all", "/cicf status emma"}

// demoPassword is what the student tour "types" into the password form.
const demoPassword = "demo lantern kettle 42"

// demoStudentTour walks a student's own flow: help, their card, a new key
// (pushed to the running VM), the SSH settings for it, and the JupyterLab
// password through the console form. Other students see the same steps.
func demoStudentTour(userID string) []string {
	return []string{
		"/cicf help", "/cicf status",
		"/cicf key " + demoKey("new@laptop"),
		"/cicf ssh-config",
		"/cicf password",
	}
}

// demo runs the console against a simulated class.
func (m *Main) demo(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "cicf-demo-")
	if err != nil {
		return fmt.Errorf("demo dir: %w", err)
	}
	m.closers = append(m.closers, func() error { return os.RemoveAll(dir) })
	m.Config.DB = filepath.Join(dir, "demo.db")
	m.Config.DOToken = "demo-token"
	m.Config.PollInterval = Duration{500 * time.Millisecond}
	m.demoAlertConfig()
	out := &lockedWriter{w: m.Stdout}
	m.Stdout = out

	vms := vmsim.New(150 * time.Millisecond)
	sim := dosim.New(dosim.Options{
		Token: m.Config.DOToken, Latency: 40 * time.Millisecond,
		BootDelay: 3 * time.Second, ActionDelay: time.Second,
		AssignIP: vms.AssignIP, OnCreate: vms.OnCreate,
	})
	vms.Attach(sim)
	m.closers = append(m.closers, func() error { sim.Close(); return nil })
	sim.AddDomain(m.Config.Domain)
	droplets, err := m.seedDemo(ctx, sim, vms)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, demoBanner, strings.TrimSuffix(sim.URL(), "/"), droplets)
	tour := demoTour
	if m.Opts.As != "" {
		tour = demoStudentTour(m.Opts.As)
		m.tourPassword = demoPassword
	}
	return m.runConsole(ctx, parts{
		cloud:    digitalocean.New(digitalocean.Config{Token: m.Config.DOToken, BaseURL: sim.URL(), Logger: m.Logger}),
		ssh:      vms,
		prober:   vms,
		scanner:  vms,
		progress: m.consoleProgress,
		afterBuild: func(ctx context.Context) error {
			m.demoTrouble(vms)
			return m.startAlerts(ctx, m.demoSlack(out), demoChannel)
		},
	}, tour)
}

// seedDemo fills the stand-in with droplets and a roster in mixed states:
// running, powered off, starting, waiting for provisioning or for a key, and
// one tagged droplet nobody owns.
func (m *Main) seedDemo(ctx context.Context, sim *dosim.Server, fleet *vmsim.Fleet) (droplets int, err error) {
	db, err := store.Open(ctx, m.Config.DB, m.Now)
	if err != nil {
		return 0, fmt.Errorf("open demo store: %w", err)
	}
	defer db.Close()
	students, vms := store.NewStudentService(db), store.NewVMService(db)
	now := m.Now()
	for i, d := range demoClass {
		s := &tasks.Student{Name: d.name, SlackID: d.slackID, Email: d.email}
		if d.hasKey {
			s.PublicKey = demoKey(d.name + "@laptop")
		}
		if err := students.CreateStudent(ctx, s); err != nil {
			return 0, fmt.Errorf("seed %s: %w", d.name, err)
		}
		if d.droplet == "" {
			continue
		}
		spec := dosim.DropletSpec{
			Name: d.name + "." + m.Config.Domain, Status: d.droplet, Tags: []string{m.Config.Tag, "student-" + d.name},
			Region: m.Config.Region, Size: m.Config.Size, CreatedAt: now.Add(-d.age),
		}
		if d.droplet != "new" {
			spec.IPv4 = fmt.Sprintf("198.18.0.%d", 10+i)
			spec.IPv6 = fmt.Sprintf("2001:db8::%x", 10+i)
		}
		id := sim.AddDroplet(spec)
		droplets++
		vm := &tasks.VM{Name: d.name, DropletID: id, Status: d.droplet, CreatedAt: spec.CreatedAt, HostKey: demoKey("")}
		if spec.IPv4 != "" {
			fleet.Add(spec.IPv4, vm.HostKey, d.droplet == "active")
		}
		if d.sinceReset > 0 {
			vm.LastResetAt = now.Add(-d.sinceReset)
		}
		if err := vms.UpsertVM(ctx, vm); err != nil {
			return 0, fmt.Errorf("seed vm %s: %w", d.name, err)
		}
	}
	sim.AddDroplet(dosim.DropletSpec{
		Name: "scratch." + m.Config.Domain, Tags: []string{m.Config.Tag}, Region: m.Config.Region, Size: m.Config.Size,
		IPv4: "198.18.0.99", CreatedAt: now.Add(-400 * time.Hour),
	})
	return droplets + 1, nil
}

// demoKey returns a fresh ed25519 public key in authorized_keys format.
func demoKey(comment string) string {
	_, pub, err := tasks.NewHostKey()
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return strings.TrimSpace(pub + " " + comment)
}
