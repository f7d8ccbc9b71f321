package handlers

import (
	"context"
	"fmt"
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
	rep, err := r.costs.Report(ctx)
	if err != nil {
		return nil, err
	}
	if rep.Total.Droplets == 0 {
		return Textf("No droplets carry the class tag `%s`: the class costs nothing right now.", rep.Tag), nil
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SIZE\tDROPLETS\t$/HOUR\t$/MONTH\t")
	for _, l := range append(rep.BySize, tasks.CostLine{Size: "total", Droplets: rep.Total.Droplets, Hourly: rep.Total.Hourly, Monthly: rep.Total.Monthly}) {
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.2f\t\n", Escape(l.Size), l.Droplets, l.Hourly, l.Monthly) // slugs come from DigitalOcean
	}
	tw.Flush()
	return Textf("*%d droplets* cost $%.2f a month ($%.3f an hour).", rep.Total.Droplets, rep.Total.Monthly, rep.Total.Hourly).AddMono(b.String()), nil
}
