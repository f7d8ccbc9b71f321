package digitalocean

import (
	"context"
	"fmt"

	"github.com/cicf/cicf-bot/tasks"
)

// Sizes returns the droplet sizes DigitalOcean offers the account now, with
// their list prices, across all pages, in the API's order (cheapest
// first). It fails as the package doc says.
func (c *Client) Sizes(ctx context.Context) ([]tasks.Size, error) {
	const op = "list droplet sizes"
	if c.err != nil {
		return nil, fmt.Errorf("%s: %w", op, c.err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	ss, _, err := allPages(ctx, c, op, c.godo.Sizes.List)
	if err != nil {
		return nil, err
	}
	var out []tasks.Size
	for _, s := range ss {
		if !s.Available {
			continue
		}
		out = append(out, tasks.Size{
			Slug: s.Slug, VCPUs: s.Vcpus, MemoryMB: s.Memory, DiskGB: s.Disk,
			PriceHourly: s.PriceHourly, PriceMonthly: s.PriceMonthly,
		})
	}
	return out, nil
}
