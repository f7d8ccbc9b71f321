package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cicf/cicf-bot/probe"
	"github.com/cicf/cicf-bot/sshclient"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// childReport is what the sweep child prints on stdout.
type childReport struct {
	WallMS float64 `json:"wall_ms"`
	VMs    int     `json:"vms"`
	// Up counts VMs whose ssh, hostkey, https and cert checks all passed.
	Up       int    `json:"up"`
	FirstBad string `json:"first_bad,omitempty"`
}

// sweepChild runs one uptime sweep over the class stored in dir, timing
// the sweep alone (the store is opened before the clock starts).
func sweepChild(dir string, parallel int) error {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(dir, "class.db"), time.Now)
	if err != nil {
		return err
	}
	defer db.Close()
	bot, err := sshclient.LoadOrCreateKey(filepath.Join(dir, "bot_key"))
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	vms, alerts := store.NewVMService(db), store.NewAlertService(db)
	a := tasks.NewAlerts(tasks.AlertsDeps{
		VMs: vms, SSH: sshclient.NewDialer(bot, sshclient.DialerConfig{}), Prober: &probe.Prober{RootCAs: pool},
		Store: alerts, Domain: domain, SSHUser: sshUser, Parallel: parallel,
	})
	start := time.Now()
	if _, err := a.Sweep(ctx, tasks.SweepUptime); err != nil {
		return err
	}
	rep := childReport{WallMS: float64(time.Since(start).Microseconds()) / 1000}
	results, err := alerts.LatestResults(ctx, "")
	if err != nil {
		return err
	}
	ok := map[string]int{} // VM -> checks that passed
	for _, r := range results {
		if r.VM == "" {
			continue
		}
		ok[r.VM] += 0
		if r.Status == tasks.CheckOK {
			ok[r.VM]++
		} else if rep.FirstBad == "" {
			rep.FirstBad = fmt.Sprintf("%s %s: %s", r.VM, r.Check, r.Detail)
		}
	}
	rep.VMs = len(ok)
	for _, n := range ok {
		if n == len(tasks.SweepChecks(tasks.SweepUptime)) {
			rep.Up++
		}
	}
	return json.NewEncoder(os.Stdout).Encode(rep)
}
