package digitalocean

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
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
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()

	ds, pages, err := allPages(ctx, c, op, func(ctx context.Context, opt *godo.ListOptions) ([]godo.Droplet, *godo.Response, error) {
		return c.godo.Droplets.ListByTag(ctx, tag, opt)
	})
	if err != nil {
		return nil, err
	}
	out := make([]tasks.Droplet, 0, len(ds))
	for _, d := range ds {
		out = append(out, c.droplet(ctx, d))
	}
	c.logger.DebugContext(ctx, "digitalocean: listed droplets", "tag", tag, "count", len(out), "pages", pages)
	return out, nil
}

// GetDroplet returns the droplet with id. It returns ENOTFOUND when
// DigitalOcean has no such droplet, and otherwise fails as the package doc
// says.
func (c *Client) GetDroplet(ctx context.Context, id int) (*tasks.Droplet, error) {
	op := fmt.Sprintf("get droplet %d", id)
	if c.err != nil {
		return nil, fmt.Errorf("%s: %w", op, c.err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	d, _, err := c.godo.Droplets.Get(ctx, id)
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return nil, fmt.Errorf("%s: %w: %w", op, noDroplet(id), err)
		}
		return nil, fail(op, err)
	}
	out := c.droplet(ctx, *d)
	return &out, nil
}

func noDroplet(id int) error {
	return tasks.Errorf(tasks.ENOTFOUND, "DigitalOcean has no droplet with ID %d; it was deleted, or never finished being created.", id)
}

// CreateDroplet asks DigitalOcean for the droplet req describes (with IPv6
// as asked and monitoring on) and returns it as first reported: status
// "new", no addresses. It neither waits nor looks for an existing droplet;
// find-or-create is the caller's, and a create answered with a 5xx is not
// retried, since it may have happened. A size, region or image DigitalOcean
// refuses is EINVALID, with a message naming the config key to fix, because
// an instructor can fix it and retrying cannot; other refusals are internal
// errors and the rest fails as the package doc says. req.UserData, which
// holds a host private key, is neither logged nor put in errors.
func (c *Client) CreateDroplet(ctx context.Context, req tasks.DropletCreate) (*tasks.Droplet, error) {
	op := fmt.Sprintf("create droplet %q", req.Name)
	if c.err != nil {
		return nil, fmt.Errorf("%s: %w", op, c.err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	d, _, err := c.godo.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name:       req.Name,
		Region:     req.Region,
		Size:       req.Size,
		Image:      godo.DropletCreateImage{Slug: req.Image},
		Tags:       req.Tags,
		UserData:   req.UserData,
		IPv6:       req.IPv6,
		Monitoring: true,
	})
	if err != nil {
		if user := refusedConfig(req, err); user != nil {
			return nil, fmt.Errorf("%s: %w: %w", op, user, err)
		}
		return nil, fail(op, err)
	}
	out := c.droplet(ctx, *d)
	c.logger.DebugContext(ctx, "digitalocean: created droplet", "droplet_id", out.ID, "name", out.Name,
		"region", req.Region, "size", req.Size, "image", req.Image, "tags", req.Tags)
	return &out, nil
}

// refusedConfig returns the EINVALID error for a 422 that refuses a value
// from the bot's config, nil for any other error.
func refusedConfig(req tasks.DropletCreate, err error) error {
	er, ok := errors.AsType[*godo.ErrorResponse](err)
	if !ok || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return nil
	}
	for _, f := range []struct{ key, value, example string }{
		{"size", req.Size, "s-1vcpu-1gb"},
		{"region", req.Region, "fra1"},
		{"image", req.Image, "debian-12-x64"},
	} {
		// DigitalOcean says "You specified an invalid size for Droplet creation."
		if containsFold(er.Message, "invalid "+f.key) {
			return tasks.Errorf(tasks.EINVALID, "DigitalOcean does not accept the droplet %s %q. An instructor needs to set `%s` in the bot's config to a slug DigitalOcean offers (such as %s) and restart the bot.",
				f.key, f.value, f.key, f.example)
		}
	}
	return nil
}

// DeleteDroplet deletes the droplet with id if it carries tag, the class
// tag. It returns nil when the droplet is already gone, EFORBIDDEN when it
// lacks the tag, an internal error for an empty tag, and otherwise fails as
// the package doc says.
func (c *Client) DeleteDroplet(ctx context.Context, id int, tag string) error {
	op := fmt.Sprintf("delete droplet %d", id)
	if c.err != nil {
		return fmt.Errorf("%s: %w", op, c.err)
	}
	if tag == "" {
		return fmt.Errorf("%s: empty tag", op)
	}
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	d, _, err := c.godo.Droplets.Get(ctx, id)
	switch {
	case statusOf(err) == http.StatusNotFound:
		return nil
	case err != nil:
		return fail(op, err)
	case !slices.Contains(d.Tags, tag):
		return fmt.Errorf("%s: %w", op, tasks.Errorf(tasks.EFORBIDDEN,
			"Droplet %s (ID %d) does not carry the class tag %q, so the bot will not delete it. If it really should go, delete it in the DigitalOcean console.",
			d.Name, id, tag))
	}
	if _, err := c.godo.Droplets.Delete(ctx, id); err != nil && statusOf(err) != http.StatusNotFound {
		return fail(op, err)
	}
	c.logger.DebugContext(ctx, "digitalocean: deleted droplet", "droplet_id", id, "name", d.Name)
	return nil
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
