package handlers

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/cicf/cicf-bot/tasks"
)

func (r *Router) costCommand() *Command {
	return &Command{
		Verb:     "cost",
		Usages:   []Usage{{tasks.RoleInstructor, "", "what the class's droplets cost"}},
		Help:     "Counts the droplets carrying the class tag by size, with DigitalOcean's hourly and monthly prices. Powered-off droplets cost the same.",
		Examples: []string{"/cicf cost"},
		Run:      r.cost,
	}
}

func (r *Router) cost(ctx context.Context, req *Request) (*Reply, error) {
	ds, err := r.cloud.ListDroplets(ctx, r.fleet.Tag)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return Textf("No droplets carry the class tag `%s`: the class costs nothing right now.", r.fleet.Tag), nil
	}
	type row struct {
		n               int
		hourly, monthly float64
	}
	bySize := map[string]*row{}
	var total row
	for _, d := range ds {
		rw := bySize[d.Size]
		if rw == nil {
			rw = &row{}
			bySize[d.Size] = rw
		}
		rw.n++
		rw.hourly += d.PriceHourly
		rw.monthly += d.PriceMonthly
		total.n++
		total.hourly += d.PriceHourly
		total.monthly += d.PriceMonthly
	}
	sizes := make([]string, 0, len(bySize))
	for s := range bySize {
		sizes = append(sizes, s)
	}
	sort.Strings(sizes)
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SIZE\tDROPLETS\t$/HOUR\t$/MONTH\t")
	for _, s := range sizes {
		rw := bySize[s]
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.2f\t\n", s, rw.n, rw.hourly, rw.monthly)
	}
	fmt.Fprintf(tw, "total\t%d\t%.3f\t%.2f\t\n", total.n, total.hourly, total.monthly)
	tw.Flush()
	return Textf("*%d droplets* cost $%.2f a month ($%.3f an hour).", total.n, total.monthly, total.hourly).AddMono(b.String()), nil
}
