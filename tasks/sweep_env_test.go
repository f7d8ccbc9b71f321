package tasks_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/internal/vmsim"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// alertEnv is the alert engine over a real SQLite file, simulated VMs
// (vmsim, answering from their state) and, when asked, the DigitalOcean
// stand-in, which the reconcile job asks through the real godo adapter. Its clock only moves when a test
// moves it.
type alertEnv struct {
	now    time.Time
	path   string
	db     *store.DB
	alerts *store.AlertService
	vms    *store.VMService
	sim    *vmsim.Fleet
	do     *dosim.Server
	engine *tasks.Alerts
	keys   map[string]string // VM name → its host key
}

// newAlertEnv starts names as healthy simulated VMs at 198.18.0.N.
func newAlertEnv(t *testing.T, withCloud bool, names ...string) *alertEnv {
	t.Helper()
	return newAlertEnvAt(t, "198.18.0.%d", withCloud, names...)
}

// newAlertEnvAt is newAlertEnv with the VMs' addresses from ipFormat.
func newAlertEnvAt(t testing.TB, ipFormat string, withCloud bool, names ...string) *alertEnv {
	t.Helper()
	e := &alertEnv{now: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC), path: filepath.Join(t.TempDir(), "cicf.db"),
		sim: vmsim.New(0), keys: map[string]string{}}
	e.open(t)
	students := store.NewStudentService(e.db)
	for i, name := range names {
		if err := students.CreateStudent(t.Context(), &tasks.Student{Name: name, SlackID: slackID(name)}); err != nil {
			t.Fatal(err)
		}
		_, pub, err := tasks.NewHostKey()
		if err != nil {
			t.Fatal(err)
		}
		ip := fmt.Sprintf(ipFormat, i+10)
		e.keys[name] = pub
		e.sim.Add(ip, pub, true)
		if err := e.vms.UpsertVM(t.Context(), &tasks.VM{Name: name, DropletID: 100 + i, Status: "active", IPv4: ip, HostKey: pub}); err != nil {
			t.Fatal(err)
		}
	}
	if withCloud {
		e.do = dosim.New(dosim.Options{Token: "t"})
		t.Cleanup(e.do.Close)
	}
	e.engine = e.newEngine()
	return e
}

// open opens (or reopens, as a restarted bot would) the database.
func (e *alertEnv) open(t testing.TB) {
	t.Helper()
	db, err := store.Open(context.Background(), e.path, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db, e.alerts, e.vms = db, store.NewAlertService(db), store.NewVMService(db)
}

func (e *alertEnv) clock() time.Time { return e.now }

func (e *alertEnv) newEngine() *tasks.Alerts {
	d := tasks.AlertsDeps{
		VMs: e.vms, SSH: e.sim, Prober: e.sim, Scanner: proberScanner{e.sim}, Store: e.alerts,
		Config: tasks.AlertConfig{FireAfter: 3, ResolveAfter: 2, RemindEvery: time.Hour},
		Domain: "cicf.cloud", Now: e.clock, Logger: slog.New(slog.DiscardHandler),
	}
	if e.do != nil {
		// Whether DigitalOcean answers is what the reconcile job stored
		// (e.reconcile).
		d.Tag, d.Views = "cicf", store.NewCloudViewStore(e.db)
	}
	return tasks.NewAlerts(d)
}

// sweep moves the clock a minute and runs one sweep of kind.
func (e *alertEnv) sweep(t *testing.T, kind tasks.SweepKind) tasks.SweepSummary {
	t.Helper()
	e.now = e.now.Add(time.Minute)
	sum, err := e.engine.Sweep(t.Context(), kind)
	if err != nil {
		t.Fatalf("Sweep(%s) = %v", kind, err)
	}
	return sum
}

// serviceDown stops (or starts) JupyterLab on the VM called name.
func (e *alertEnv) setService(t *testing.T, name string, up bool) {
	t.Helper()
	vm, err := e.vms.FindVM(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.Add(vm.IPv4, e.keys[name], up)
}

// moveVM points the bot at an address where nothing answers.
func (e *alertEnv) moveVM(t *testing.T, name, ip string) {
	t.Helper()
	vm, err := e.vms.FindVM(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	vm.IPv4 = ip
	if err := e.vms.UpsertVM(t.Context(), vm); err != nil {
		t.Fatal(err)
	}
}

// events returns the outbox as "kind vm/check" lines, oldest first.
func (e *alertEnv) events(t *testing.T) []string {
	t.Helper()
	evs, err := e.alerts.EventsSince(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, fmt.Sprintf("%s %s/%s", ev.Kind, ev.VM, ev.Check))
	}
	return out
}

// state returns the stored alert state of (vm, check), zero if none.
func (e *alertEnv) state(t testing.TB, vm, check string) tasks.AlertState {
	t.Helper()
	all, err := e.alerts.AlertStates(t.Context())
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

// proberScanner scans with Prober.OpenPorts, as probe.Scanner would with
// nmap, over the ports the tests use.
type proberScanner struct{ p tasks.Prober }

func (s proberScanner) ScanPorts(ctx context.Context, addrs []string, ports []int) (map[string][]int, error) {
	if ports == nil {
		ports = []int{22, 80, 443, 8888}
	}
	out := map[string][]int{}
	for _, a := range addrs {
		open, err := s.p.OpenPorts(ctx, a, ports, 2*time.Second)
		if err != nil {
			return nil, tasks.Errorf(tasks.EUNAVAILABLE, "scan %s: %v", a, err)
		}
		out[a] = open
	}
	return out, nil
}
