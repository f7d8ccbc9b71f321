package digitalocean

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cicf/cicf-bot/tasks"
	"github.com/digitalocean/godo"
)

// ListDroplets returns every droplet tagged tag, across all pages, in the
// API's order. It returns an error with EUNAVAILABLE in its chain when the
// API cannot be used in time (see the package doc), and an internal error
// for an empty tag, which would list the whole account.
func (c *Client) ListDroplets(ctx context.Context, tag string) ([]tasks.Droplet, error) {
	op := fmt.Sprintf("list droplets tagged %q", tag)
	if c.err != nil {
		return nil, fmt.Errorf("%s: %w", op, c.err)
	}
	if tag == "" {
		return nil, errors.New("list droplets: empty tag")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	var out []tasks.Droplet
	opt := &godo.ListOptions{Page: 1, PerPage: c.perPage}
	for {
		ds, resp, err := c.godo.Droplets.ListByTag(ctx, tag, opt)
		if err != nil {
			return nil, fail(fmt.Sprintf("%s (page %d)", op, opt.Page), err)
		}
		for _, d := range ds {
			out = append(out, c.droplet(ctx, d))
		}
		if resp.Links == nil || resp.Links.IsLastPage() {
			break
		}
		page, err := resp.Links.CurrentPage()
		if err != nil {
			return nil, fmt.Errorf("%s: read page links: %w", op, err)
		}
		if page < opt.Page {
			// A confused answer must not make us loop forever.
			return nil, fmt.Errorf("%s: asked for page %d, links say page %d", op, opt.Page, page)
		}
		opt.Page = page + 1
	}
	c.logger.DebugContext(ctx, "digitalocean: listed droplets", "tag", tag, "count", len(out), "pages", opt.Page)
	return out, nil
}

// droplet maps godo's droplet. An unreadable created_at is logged and left
// zero: one odd droplet should not hide the rest of the class.
func (c *Client) droplet(ctx context.Context, d godo.Droplet) tasks.Droplet {
	out := tasks.Droplet{
		ID:     d.ID,
		Name:   d.Name,
		Status: d.Status,
		Size:   d.SizeSlug,
		Tags:   d.Tags,
	}
	// Both fail only when the droplet has no networks yet (status new).
	out.IPv4, _ = d.PublicIPv4()
	out.IPv6, _ = d.PublicIPv6()
	if d.Region != nil {
		out.Region = d.Region.Slug
	}
	if d.Size != nil {
		out.PriceHourly, out.PriceMonthly = d.Size.PriceHourly, d.Size.PriceMonthly
		if out.Size == "" {
			out.Size = d.Size.Slug
		}
	}
	if d.Created != "" {
		t, err := time.Parse(time.RFC3339, d.Created)
		if err != nil {
			c.logger.WarnContext(ctx, "digitalocean: unreadable created_at", "droplet_id", d.ID, "created_at", d.Created, "err", err)
		}
		out.CreatedAt = t
	}
	return out
}
