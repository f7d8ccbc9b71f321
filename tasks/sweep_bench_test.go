package tasks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// BenchmarkSweepUptime sweeps 100 simulated VMs (in process, addresses in
// 198.19.128.0/17), one failing, through the real SQLite store: the cost of
// the engine and the store without the network.
func BenchmarkSweepUptime(b *testing.B) {
	names := make([]string, 100)
	for i := range names {
		names[i] = fmt.Sprintf("s%c%c", 'a'+i/26, 'a'+i%26) // slackID keeps letters only
	}
	e := newAlertEnvAt(b, "198.19.128.%d", false, names...)
	vm, err := e.vms.FindVM(b.Context(), "sah")
	if err != nil {
		b.Fatal(err)
	}
	e.sim.Add(vm.IPv4, e.keys["sah"], false)
	for b.Loop() {
		e.now = e.now.Add(time.Minute)
		sum, err := e.engine.Sweep(b.Context(), tasks.SweepUptime)
		if err != nil || sum.Results != 400 {
			b.Fatalf("Sweep = %+v, %v", sum, err)
		}
	}
	st := e.state(b, "sah", tasks.CheckHTTPS)
	if !st.Firing {
		b.Errorf("sah/https = %+v, want firing", st)
	}
}
