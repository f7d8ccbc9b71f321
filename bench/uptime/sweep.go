package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cicf/cicf-bot/probe"
	"github.com/cicf/cicf-bot/sshclient"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// sweepJob is what the parent hands the sweep child.
type sweepJob struct {
	Domain, CAFile, KeyFile, Dir string
	Workers, SSHPort             int
	VMs                          []tasks.VM
}

// sweepReport is the child's answer: each (VM/check)'s stored status and
// detail, and the wall time of the sweep alone.
type sweepReport struct {
	WallSeconds float64
	Results     int
	Grouped     []string
	Status      map[string]tasks.CheckStatus
	Detail      map[string]string
}

// sweepMain runs one uptime sweep as the bot does: tasks.Alerts.Sweep over
// a real SQLite store holding the class, through the real sshclient and
// probe adapters (ssh, hostkey, https and cert checks per VM, Workers VMs
// at once), storing results and moving alert state. Only the Sweep call is
// timed; the store is filled before.
func sweepMain(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: uptime -sweep JOBFILE")
		return 2
	}
	if err := sweep(args[0]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func sweep(jobFile string) error {
	var job sweepJob
	b, err := os.ReadFile(jobFile)
	if err == nil {
		err = json.Unmarshal(b, &job)
	}
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(job.KeyFile)
	if err != nil {
		return err
	}
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(job.CAFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)

	ctx := context.Background()
	dbDir, err := os.MkdirTemp(job.Dir, "db")
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, filepath.Join(dbDir, "cicf.db"), time.Now)
	if err != nil {
		return err
	}
	defer db.Close()
	students, vms := store.NewStudentService(db), store.NewVMService(db)
	for i, vm := range job.VMs {
		if err := students.CreateStudent(ctx, &tasks.Student{Name: vm.Name, SlackID: fmt.Sprintf("U%08d", i)}); err != nil {
			return err
		}
		vm.DropletID, vm.Status = 1000+i, "active"
		if err := vms.UpsertVM(ctx, &vm); err != nil {
			return err
		}
	}
	alerts := tasks.NewAlerts(tasks.AlertsDeps{
		VMs:      vms,
		SSH:      sshclient.NewDialer(signer, sshclient.DialerConfig{}),
		Prober:   &probe.Prober{RootCAs: pool},
		Store:    store.NewAlertService(db),
		Domain:   job.Domain,
		SSHUser:  "root",
		SSHPort:  job.SSHPort,
		Parallel: job.Workers,
	})
	start := time.Now()
	sum, err := alerts.Sweep(ctx, tasks.SweepUptime)
	wall := time.Since(start)
	if err != nil {
		return err
	}
	rs, err := store.NewAlertService(db).LatestResults(ctx, "")
	if err != nil {
		return err
	}
	rep := sweepReport{WallSeconds: wall.Seconds(), Results: sum.Results, Grouped: sum.Grouped,
		Status: map[string]tasks.CheckStatus{}, Detail: map[string]string{}}
	for _, r := range rs {
		rep.Status[r.VM+"/"+r.Check], rep.Detail[r.VM+"/"+r.Check] = r.Status, r.Detail
	}
	return json.NewEncoder(os.Stdout).Encode(rep)
}
