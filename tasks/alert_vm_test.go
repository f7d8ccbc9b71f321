package tasks_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/probe"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// TestAlertsOnRealVMs sweeps a VM the bot provisioned for real (sshd with a
// pinned host key, Caddy with the test CA, VM index 100), scanning nmap's
// top 1000 ports with probe.Scanner, and breaks it in
// turn: 443 dropped by nft, a listener on 8888 started as the student, CPU
// burners, and finally a replaced host key. The clock of the alert engine
// only moves when the test moves it.
func TestAlertsOnRealVMs(t *testing.T) {
	e := newCloudEnv(t, 100)
	ctx := context.Background()
	e.student("emma")
	if r := e.run(tasks.RunProvision, "emma"); r.State != tasks.RunDone {
		t.Fatalf("provision ended %s at step %d: %s", r.State, r.Step, r.Error)
	}
	rec, err := e.vms.FindVM(ctx, "emma")
	if err != nil {
		t.Fatal(err)
	}
	vm := e.vm(rec.DropletID)
	now := time.Now()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "alerts.db"), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := store.NewAlertService(db)
	a := tasks.NewAlerts(tasks.AlertsDeps{
		VMs: e.vms, SSH: e.ssh, Prober: &probe.Prober{RootCAs: e.ca.Pool}, Scanner: &probe.Scanner{}, Store: st,
		Config:   tasks.AlertConfig{CPUPercent: 30, CPUFor: 10 * time.Minute},
		Domain:   domain,
		Timeouts: map[string]time.Duration{tasks.CheckHTTPS: 3 * time.Second, tasks.CheckCert: 3 * time.Second},
		Now:      func() time.Time { return now },
		Logger:   slog.New(slog.NewTextHandler(testLog{t}, nil)),
	})
	sweep := func(kind tasks.SweepKind) map[string]tasks.Result {
		t.Helper()
		if _, err := a.Sweep(ctx, kind); err != nil {
			t.Fatalf("Sweep(%s) = %v", kind, err)
		}
		rs, err := st.LatestResults(ctx, "emma")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]tasks.Result{}
		for _, r := range rs {
			m[r.Check] = r
		}
		return m
	}
	firing := func() []string {
		t.Helper()
		evs, err := st.EventsSince(ctx, time.Time{}, tasks.EventFiring)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ev := range evs {
			out = append(out, ev.VM+"/"+ev.Check)
		}
		return out
	}
	sh := func(script string) string {
		t.Helper()
		out, err := vm.Exec("/bin/sh", "-c", script)
		if err != nil {
			t.Fatalf("%s: %v", script, err)
		}
		return strings.TrimSpace(string(out))
	}

	// Healthy: SSH with the pinned key, Caddy's 401 through SNI, the test
	// CA's certificate, only the allowed ports.
	before := strings.Count(vm.Log(), "Accepted publickey")
	rs := sweep(tasks.SweepUptime)
	for _, c := range []string{tasks.CheckSSH, tasks.CheckHostKey, tasks.CheckHTTPS} {
		if rs[c].Status != tasks.CheckOK {
			t.Errorf("healthy %s: %+v, want ok", c, rs[c])
		}
	}
	// The uptime sweep proves the pinned key with a key exchange: no login.
	if n := strings.Count(vm.Log(), "Accepted publickey") - before; n != 0 {
		t.Errorf("the uptime sweep logged in %d times, want a handshake only", n)
	}
	// The test VMs' Caddy serves 90-day certificates, as Let's Encrypt does.
	if cert := rs[tasks.CheckCert]; rs[tasks.CheckHTTPS].Value != 401 || cert.Status != tasks.CheckOK || cert.Value < 89 {
		t.Errorf("https %v, cert %+v; want 401 and a certificate ok for 89 days or more", rs[tasks.CheckHTTPS].Value, cert)
	}
	if rs = sweep(tasks.SweepFirewall); rs[tasks.CheckFirewall].Status != tasks.CheckOK {
		t.Errorf("healthy firewall: %+v", rs[tasks.CheckFirewall])
	}

	// 443 dropped inside the VM: HTTPS fails, SSH still answers.
	sh(`nft add table inet alerttest && nft 'add chain inet alerttest in { type filter hook input priority -10; }' && nft add rule inet alerttest in tcp dport 443 drop`)
	rs = sweep(tasks.SweepUptime)
	if rs[tasks.CheckHTTPS].Status != tasks.CheckFail || rs[tasks.CheckSSH].Status != tasks.CheckOK {
		t.Errorf("443 dropped: https %+v, ssh %+v; want fail and ok", rs[tasks.CheckHTTPS], rs[tasks.CheckSSH])
	}
	sh(`nft delete table inet alerttest`)
	if rs = sweep(tasks.SweepUptime); rs[tasks.CheckHTTPS].Status != tasks.CheckOK {
		t.Errorf("443 open again: %+v", rs[tasks.CheckHTTPS])
	}

	// A listener on 8888 started as the student: the firewall result names
	// the port, the process and its user, and fires at once.
	pid := sh(`cd /tmp && setpriv --reuid=cicf --regid=cicf --init-groups /usr/bin/python3 -m http.server 8888 >/dev/null 2>&1 </dev/null & echo $!`)
	t.Cleanup(func() { vm.Exec("kill", pid) })
	waitFor(t, "the listener on 8888", func() bool {
		out, _ := vm.Exec("ss", "-ltnH", "sport = :8888")
		return strings.Contains(string(out), "8888")
	})
	rs = sweep(tasks.SweepFirewall)
	fw := rs[tasks.CheckFirewall]
	if fw.Status != tasks.CheckFail || fw.Value != 1 || !strings.Contains(fw.Detail, "port 8888") ||
		!strings.Contains(fw.Detail, "python3 (pid "+pid) || !strings.Contains(fw.Detail, "user cicf") ||
		!strings.Contains(fw.Fix, "127.0.0.1") {
		t.Errorf("listener on 8888: %+v, want a failure naming port 8888, python3 pid %s and user cicf", fw, pid)
	}
	if got := firing(); len(got) != 1 || got[0] != "emma/firewall" {
		t.Errorf("firing events %v, want emma/firewall at once", got)
	}

	// A port Docker publishes: docker-proxy (root) holds it, so ss as cicf
	// cannot name the process; docker ps names the container and the fix.
	// No Docker engine runs here (TESTING.md): the VM's docker stand-in is
	// replaced by one that answers ps as Docker 27 does for such a
	// container, and a root listener plays docker-proxy.
	sh(`cat >/usr/local/bin/docker <<'EOS'
#!/bin/sh
id -nG | tr ' ' '\n' | grep -qx docker || { echo 'permission denied' >&2; exit 1; }
[ "$1" = ps ] && printf 'notebook\t0.0.0.0:8080->8888/tcp, :::8080->8888/tcp\n'
EOS
chmod 755 /usr/local/bin/docker; getent group docker >/dev/null || groupadd docker; usermod -aG docker cicf`)
	proxy := sh(`cd /tmp && /usr/bin/python3 -m http.server 8080 >/dev/null 2>&1 </dev/null & echo $!`)
	t.Cleanup(func() { vm.Exec("kill", proxy) })
	waitFor(t, "the listener on 8080", func() bool {
		out, _ := vm.Exec("ss", "-ltnH", "sport = :8080")
		return strings.Contains(string(out), "8080")
	})
	rs = sweep(tasks.SweepFirewall)
	fw = rs[tasks.CheckFirewall]
	if fw.Status != tasks.CheckFail || fw.Value != 2 || !strings.Contains(fw.Detail, "Docker container notebook publishes 0.0.0.0:8080->8888") ||
		!strings.Contains(fw.Fix, "-p 127.0.0.1:8080:8888") || !strings.Contains(fw.Detail, "port 8888") {
		t.Errorf("published 8080: %+v, want 8888 and 8080, the container and -p 127.0.0.1:8080:8888", fw)
	}
	vm.Exec("kill", proxy)

	// CPU burners: high CPU alone does not fail; once it has lasted cpu_for
	// (the clock moved across sweeps) the result names the top process.
	sh(`printf '#!/bin/sh\nwhile :; do :; done\n' >/home/cicf/xmrig && chmod 755 /home/cicf/xmrig`)
	var burners []string
	for range 2 {
		b := sh(`setpriv --reuid=cicf --regid=cicf --init-groups /home/cicf/xmrig >/dev/null 2>&1 </dev/null & echo $!`)
		burners = append(burners, b)
		t.Cleanup(func() { vm.Exec("kill", b) })
	}
	rs = sweep(tasks.SweepResources)
	res := rs[tasks.CheckResources]
	if res.Status != tasks.CheckOK || res.Since.IsZero() || !strings.Contains(res.Detail, "xmrig") {
		t.Fatalf("CPU high for a moment: %+v, want ok, high since now, naming xmrig", res)
	}
	now = now.Add(11 * time.Minute)
	rs = sweep(tasks.SweepResources)
	res = rs[tasks.CheckResources]
	if res.Status != tasks.CheckFail || !strings.Contains(res.Detail, "top process xmrig") || !strings.Contains(res.Detail, "user cicf") ||
		!strings.Contains(res.Detail, "for 11m") || !strings.Contains(res.Fix, "kill ") {
		t.Errorf("CPU high for 11m: %+v, want a failure naming xmrig, user cicf, 11m", res)
	}
	if top := strconv.Itoa(int(res.Numbers["top_pid"])); top != burners[0] && top != burners[1] {
		t.Errorf("top pid %s, want one of the burners %v", top, burners)
	}
	if got := firing(); len(got) != 2 || got[1] != "emma/resources" {
		t.Errorf("firing events %v, want emma/resources at once once cpu_for has passed", got)
	}
	for _, b := range burners {
		vm.Exec("kill", b)
	}

	// The host key replaced behind the bot's back: a hostkey alert at the
	// first sweep, and no session is opened on the VM any more.
	if !strings.Contains(vm.Log(), "Accepted publickey for cicf") {
		t.Fatalf("sshd logs no accepted login; the count below would prove nothing:\n%s", vm.Log())
	}
	sh(`rm -f /etc/ssh/ssh_host_ed25519_key* && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key && systemctl reload ssh`)
	logins := strings.Count(vm.Log(), "Accepted publickey")
	now = now.Add(time.Minute)
	rs = sweep(tasks.SweepUptime)
	if rs[tasks.CheckHostKey].Status != tasks.CheckFail || rs[tasks.CheckSSH].Status != tasks.CheckUnknown {
		t.Errorf("host key replaced: hostkey %+v, ssh %+v; want fail and unknown", rs[tasks.CheckHostKey], rs[tasks.CheckSSH])
	}
	if got := firing(); len(got) != 3 || got[2] != "emma/hostkey" {
		t.Errorf("firing events %v, want emma/hostkey at the first sweep", got)
	}
	rs = sweep(tasks.SweepFirewall)
	sweep(tasks.SweepResources)
	if n := strings.Count(vm.Log(), "Accepted publickey"); n != logins {
		t.Errorf("%d logins after the host key changed, want none (a command may have been sent)", n-logins)
	}
	if fw := rs[tasks.CheckFirewall]; fw.Status != tasks.CheckFail || !strings.Contains(fw.Detail, "process unknown") {
		t.Errorf("firewall with a changed key: %+v, want port 8888 open, process unknown (nothing asked of the VM)", fw)
	}
}
