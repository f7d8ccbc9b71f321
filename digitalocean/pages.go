package digitalocean

import (
	"context"
	"fmt"

	"github.com/digitalocean/godo"
)

// allPages calls list for pages 1, 2, … until the links say it was the last
// and returns the items in order with the number of pages read. API
// failures come back through fail(op); confused links are internal errors.
func allPages[T any](ctx context.Context, c *Client, op string, list func(ctx context.Context, opt *godo.ListOptions) ([]T, *godo.Response, error)) ([]T, int, error) {
	var out []T
	opt := &godo.ListOptions{Page: 1, PerPage: c.perPage}
	for {
		items, resp, err := list(ctx, opt)
		if err != nil {
			return nil, opt.Page, fail(fmt.Sprintf("%s (page %d)", op, opt.Page), err)
		}
		out = append(out, items...)
		if resp.Links == nil || resp.Links.IsLastPage() {
			return out, opt.Page, nil
		}
		page, err := resp.Links.CurrentPage()
		if err != nil {
			return nil, opt.Page, fmt.Errorf("%s: read page links: %w", op, err)
		}
		if page < opt.Page {
			// A confused answer must not make us loop forever.
			return nil, opt.Page, fmt.Errorf("%s: asked for page %d, links say page %d", op, opt.Page, page)
		}
		opt.Page = page + 1
	}
}
