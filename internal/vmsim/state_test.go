package vmsim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/vmsim"
	"github.com/cicf/cicf-bot/tasks"
)

var _ tasks.PortScanner = (*vmsim.Fleet)(nil)

// checkVM runs the bot's real check table against a simulated VM.
func checkVM(t *testing.T, f *vmsim.Fleet, vm tasks.VM, check string) tasks.Result {
	t.Helper()
	c := &tasks.Checker{SSH: f, Prober: f, Scanner: f, Domain: "cicf.cloud", Config: tasks.DefaultAlertConfig(), Now: time.Now}
	return c.Run(context.Background(), check, vm)
}

func newVM(t *testing.T, f *vmsim.Fleet, ip string) tasks.VM {
	t.Helper()
	_, pub, err := tasks.NewHostKey()
	if err != nil {
		t.Fatal(err)
	}
	f.Add(ip, pub, true)
	return tasks.VM{Name: "emma", IPv4: ip, HostKey: pub, Status: "active"}
}

// TestChecksReadState: every check's answer follows the VM's state, and
// changes when it does.
func TestChecksReadState(t *testing.T) {
	f := vmsim.New(0)
	vm := newVM(t, f, "198.18.7.2")
	for _, c := range []string{tasks.CheckSSH, tasks.CheckHostKey, tasks.CheckHTTPS, tasks.CheckCert, tasks.CheckFirewall, tasks.CheckResources} {
		if r := checkVM(t, f, vm, c); r.Status != tasks.CheckOK {
			t.Errorf("healthy VM: %s = %s (%s), want ok", c, r.Status, r.Detail)
		}
	}

	f.Listen(vm.IPv4, vmsim.Listener{Port: 8888, Process: "python3", User: "cicf", PID: 3141})
	r := checkVM(t, f, vm, tasks.CheckFirewall)
	if r.Status != tasks.CheckFail || !strings.Contains(r.Detail, "8888") || !strings.Contains(r.Detail, "python3") {
		t.Errorf("8888 exposed: firewall = %s %q, want a failure naming 8888 and python3", r.Status, r.Detail)
	}
	f.StopListening(vm.IPv4, 8888)
	f.Listen(vm.IPv4, vmsim.Listener{Port: 8888, Addr: "127.0.0.1", Process: "python3", User: "cicf", PID: 3142})
	if r := checkVM(t, f, vm, tasks.CheckFirewall); r.Status != tasks.CheckOK {
		t.Errorf("8888 on loopback: firewall = %s %q, want ok", r.Status, r.Detail)
	}
	f.Listen(vm.IPv4, vmsim.Listener{Port: 8080, Container: "notebook", Process: "docker-proxy"})
	if r := checkVM(t, f, vm, tasks.CheckFirewall); r.Status != tasks.CheckFail || !strings.Contains(r.Detail, "notebook") {
		t.Errorf("Docker-published 8080: firewall = %s %q, want a failure naming the container", r.Status, r.Detail)
	}

	f.SetCPU(vm.IPv4, 97, &vmsim.Process{PID: 6666, User: "cicf", CPU: 96, Elapsed: 600, Command: "xmrig"})
	r = checkVM(t, f, vm, tasks.CheckResources)
	if r.Value < 96 || r.Value > 98 || !strings.Contains(r.Detail, "xmrig") {
		t.Errorf("busy VM: resources value %v detail %q, want CPU 97%% naming xmrig", r.Value, r.Detail)
	}

	f.SetService(vm.IPv4, false)
	if r := checkVM(t, f, vm, tasks.CheckHTTPS); r.Status != tasks.CheckFail {
		t.Errorf("service down: https = %s %q, want fail", r.Status, r.Detail)
	}
	f.SetService(vm.IPv4, true)
	f.SetCertDays(vm.IPv4, 5)
	if r := checkVM(t, f, vm, tasks.CheckCert); r.Value != 5 || r.Status != tasks.CheckFail {
		t.Errorf("cert with 5 days: %s value %v, want fail with 5", r.Status, r.Value)
	}

	_, other, _ := tasks.NewHostKey()
	f.SetHostKey(vm.IPv4, other)
	if r := checkVM(t, f, vm, tasks.CheckHostKey); r.Status != tasks.CheckFail {
		t.Errorf("replaced host key: hostkey = %s %q, want fail", r.Status, r.Detail)
	}

	f.Cut(vm.IPv4, true)
	if r := checkVM(t, f, vm, tasks.CheckSSH); r.Status == tasks.CheckOK {
		t.Errorf("cut off: ssh = ok, want it not to answer")
	}
	if open, _ := f.OpenPorts(context.Background(), vm.IPv4, nil, 0); len(open) != 0 {
		t.Errorf("cut off: open ports %v, want none", open)
	}
}
