package tasks

import (
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
