package tasks_test

import (
	"context"
	"testing"

	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
)

func TestCosts_Report(t *testing.T) {
	env := newTestEnv(t)
	for _, d := range []dosim.DropletSpec{
		{Name: "a.cicf.cloud", Tags: []string{classTag}, Size: "s-2vcpu-4gb", PriceHourly: 0.036, PriceMonthly: 24},
		{Name: "b.cicf.cloud", Tags: []string{classTag}, Size: "s-1vcpu-2gb", PriceHourly: 0.018, PriceMonthly: 12},
		{Name: "c.cicf.cloud", Tags: []string{classTag}, Size: "s-1vcpu-2gb", Status: "off", PriceHourly: 0.018, PriceMonthly: 12},
		{Name: "x.example", Tags: []string{"other"}, Size: "s-1vcpu-2gb", PriceHourly: 1, PriceMonthly: 1},
	} {
		env.sim.AddDroplet(d)
	}
	c := &tasks.Costs{Droplets: env.fleet.Droplets, Tag: classTag}
	rep, err := c.Report(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []tasks.CostLine{{"s-1vcpu-2gb", 2, 0.036, 24}, {"s-2vcpu-4gb", 1, 0.036, 24}}
	if len(rep.BySize) != len(want) {
		t.Fatalf("BySize = %+v, want %+v", rep.BySize, want)
	}
	for i, w := range want {
		if g := rep.BySize[i]; g.Size != w.Size || g.Droplets != w.Droplets || !near(g.Hourly, w.Hourly) || !near(g.Monthly, w.Monthly) {
			t.Errorf("BySize[%d] = %+v, want %+v", i, g, w)
		}
	}
	if g := rep.Total; g.Droplets != 3 || !near(g.Hourly, 0.072) || !near(g.Monthly, 48) {
		t.Errorf("Total = %+v, want 3 droplets, 0.072/h, 48/month", g)
	}

	empty, err := (&tasks.Costs{Droplets: env.fleet.Droplets, Tag: "nobody"}).Report(context.Background())
	if err != nil || empty.Total.Droplets != 0 || len(empty.BySize) != 0 {
		t.Errorf("Report of an empty tag = %+v, %v", empty, err)
	}
}

func near(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }
