package tasks

import (
	"fmt"
	"os/exec"
	"testing"
	"time"
)

func TestSustainCPU(t *testing.T) {
	cfg := AlertConfig{CPUFor: 10 * time.Minute}
	t0 := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	high := func(at time.Time) Result {
		return Result{Check: CheckResources, Status: CheckOK, Detail: "CPU 99%", Since: at, At: at}
	}
	low := Result{Check: CheckResources, Status: CheckOK, Detail: "CPU 3%", At: t0.Add(20 * time.Minute)}
	prevHigh := high(t0)
	later := high(t0.Add(40 * time.Minute)) // another replica's clock ran ahead
	for _, c := range []struct {
		name      string
		prev      *Result
		r         Result
		wantFail  bool
		wantSince time.Time
	}{
		{"first high reading", nil, high(t0), false, t0},
		{"high for 9m", &prevHigh, high(t0.Add(9 * time.Minute)), false, t0},
		{"high for 10m", &prevHigh, high(t0.Add(10 * time.Minute)), true, t0},
		{"low again", &prevHigh, low, false, time.Time{}},
		{"high after low", &low, high(t0.Add(30 * time.Minute)), false, t0.Add(30 * time.Minute)},
		{"a previous reading from the future", &later, high(t0.Add(30 * time.Minute)), false, t0.Add(30 * time.Minute)},
		{"another check", &prevHigh, Result{Check: CheckSSH, Since: t0.Add(time.Hour), At: t0.Add(time.Hour)}, false, t0.Add(time.Hour)},
	} {
		got := sustainCPU(cfg, c.prev, c.r)
		if (got.Status == CheckFail) != c.wantFail || got.Immediate != c.wantFail || !got.Since.Equal(c.wantSince) {
			t.Errorf("%s: %+v, want fail %v since %v", c.name, got, c.wantFail, c.wantSince)
		}
	}
}

// resourcesAnswer is what resourcesCommand prints on a VM, with the busy
// share of the CPU interval, the memory available and the disk use given.
func resourcesAnswer(busy, availKB, diskPct int) string {
	return fmt.Sprintf(`--- load ---
0.42 0.30 0.20 1/123 4567
--- stat ---
cpu  1000 0 0 9000 0 0 0 0 0 0
cpu  %d 0 0 %d 0 0 0 0 0 0
--- mem ---
MemTotal:        2000000 kB
MemFree:          100000 kB
MemAvailable:    %d kB
--- df ---
Filesystem     1024-blocks    Used Available Capacity Mounted on
/dev/vda1         25000000 5000000  20000000      %d%% /
--- ps ---
 4242 cicf                              99.0     600 xmrig
    1 root                               0.1   86400 systemd
`, 1000+busy, 9000+100-busy, availKB, diskPct)
}

func TestResourcesResult(t *testing.T) {
	at := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	c := &Checker{Config: AlertConfig{CPUPercent: 90}, Now: func() time.Time { return at }}
	vm := VM{Name: "emma"}
	for _, tt := range []struct {
		name       string
		out        string
		status     CheckStatus
		detail     string
		highCPU    bool
		cpu, mem   float64
		wantNumber string
	}{
		{"healthy", resourcesAnswer(3, 1500000, 20), CheckOK, "CPU 3%, memory 25%, disk 20%", false, 3, 25, "load1"},
		{"disk full", resourcesAnswer(3, 1500000, 96), CheckFail, "disk 96% full", false, 3, 25, "disk_percent"},
		{"memory full", resourcesAnswer(3, 60000, 20), CheckFail, "memory 97% used", false, 3, 97, "mem_percent"},
		{"CPU high names the top process", resourcesAnswer(95, 1500000, 20), CheckOK,
			"CPU 95%; top process xmrig (pid 4242, user cicf, started 2026-12-04 08:50 UTC)", true, 95, 25, "top_pid"},
		{"CPU unreadable", "--- stat ---\ncpu garbage\n", CheckUnknown, "CPU use unreadable", false, 0, 0, ""},
	} {
		r := c.resourcesResult(vm, tt.out)
		if r.Status != tt.status || r.Detail != tt.detail || !r.Since.IsZero() != tt.highCPU || r.Value != tt.cpu ||
			r.Numbers["mem_percent"] != tt.mem {
			t.Errorf("%s: %+v", tt.name, r)
		}
		if _, ok := r.Numbers[tt.wantNumber]; tt.wantNumber != "" && !ok {
			t.Errorf("%s: no %s in %v", tt.name, tt.wantNumber, r.Numbers)
		}
	}
}

// The busiest processes resourcesCommand lists, run by a real shell, are
// never its own ps and head: a ps just started shows a high share of CPU
// (here it is in the top five every time) and was named as the top process
// instead of a miner on a loaded VM.
func TestResourcesCommandLeavesOutItsOwnProcesses(t *testing.T) {
	for range 3 {
		out, err := exec.Command("sh", "-c", resourcesCommand).Output()
		if err != nil {
			t.Fatalf("sh -c resourcesCommand: %v (it needs procps and coreutils)", err)
		}
		ps := parsePS(sections(string(out))["ps"])
		if len(ps) == 0 {
			t.Fatalf("no processes listed in %q", out)
		}
		for _, p := range ps {
			if p.Command == "ps" || p.Command == "head" {
				t.Errorf("the command lists its own %s (pid %d, %.1f%% CPU)", p.Command, p.PID, p.CPU)
			}
		}
	}
}
