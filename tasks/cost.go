package tasks

import (
	"context"
	"sort"
)

// Costs adds up what the class's droplets cost, from DigitalOcean's list
// prices on each droplet.
type Costs struct {
	Droplets DropletLister
	Tag      string // the class tag
}

// CostLine is the cost of the droplets of one size, or of all (Size "").
type CostLine struct {
	Size            string
	Droplets        int
	Hourly, Monthly float64 // US dollars
}

// CostReport is what the class costs now.
type CostReport struct {
	Tag    string
	BySize []CostLine // sorted by size slug
	Total  CostLine
}

// Report lists the droplets carrying the class tag and sums their prices by
// size. Powered-off droplets cost the same. It fails as the lister does.
func (c *Costs) Report(ctx context.Context) (*CostReport, error) {
	ds, err := c.Droplets.ListDroplets(ctx, c.Tag)
	if err != nil {
		return nil, err
	}
	rep := &CostReport{Tag: c.Tag}
	bySize := map[string]*CostLine{}
	for _, d := range ds {
		l := bySize[d.Size]
		if l == nil {
			l = &CostLine{Size: d.Size}
			bySize[d.Size] = l
		}
		for _, l := range []*CostLine{l, &rep.Total} {
			l.Droplets++
			l.Hourly += d.PriceHourly
			l.Monthly += d.PriceMonthly
		}
	}
	for _, l := range bySize {
		rep.BySize = append(rep.BySize, *l)
	}
	sort.Slice(rep.BySize, func(i, j int) bool { return rep.BySize[i].Size < rep.BySize[j].Size })
	return rep, nil
}
