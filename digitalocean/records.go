package digitalocean

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/cicf/cicf-bot/tasks"
	"github.com/digitalocean/godo"
)

// ListRecords returns the A and AAAA records in domain named name (relative
// to it, e.g. "emma"; "@" for the domain itself), across all pages, in the
// API's order. It returns EINVALID when DigitalOcean has no such domain,
// since the bot's `domain` config is then wrong, an internal error for an
// empty or unusable domain or name, and otherwise fails as the package doc
// says.
func (c *Client) ListRecords(ctx context.Context, domain, name string) ([]tasks.DNSRecord, error) {
	op := fmt.Sprintf("list DNS records %q in %q", name, domain)
	if c.err != nil {
		return nil, fmt.Errorf("%s: %w", op, c.err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	return c.records(ctx, op, domain, name, "")
}

// SetRecords makes each of recs (type A or AAAA, Name relative to domain,
// ID ignored) the only record of its type and name in domain, listing the
// name's records once for all of them: it updates an existing record in
// place (the first that already matches, else the oldest), deletes the
// others, and creates one only when there is none. A TTL of 0 keeps
// DigitalOcean's default. It returns EINVALID when DigitalOcean has no such
// domain, an internal error for another type or a value DigitalOcean
// refuses, and otherwise fails as the package doc says. A failure part-way
// never leaves a name without a record once it had one; calling again
// finishes the job.
func (c *Client) SetRecords(ctx context.Context, domain, name string, recs []tasks.DNSRecord) error {
	op := fmt.Sprintf("set DNS records %q in %q", name, domain)
	if c.err != nil {
		return fmt.Errorf("%s: %w", op, c.err)
	}
	for _, rec := range recs {
		if rec.Type != "A" && rec.Type != "AAAA" {
			return fmt.Errorf("%s: only A and AAAA records are managed, not %q", op, rec.Type)
		}
		if rec.Name != name {
			return fmt.Errorf("%s: record for %q", op, rec.Name)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	all, err := c.records(ctx, op, domain, name, "")
	if err != nil {
		return err
	}
	for _, rec := range recs {
		var existing []tasks.DNSRecord
		for _, r := range all {
			if r.Type == rec.Type {
				existing = append(existing, r)
			}
		}
		if err := c.setRecord(ctx, fmt.Sprintf("%s: %s to %q", op, rec.Type, rec.Data), domain, rec, existing); err != nil {
			return err
		}
	}
	return nil
}

// setRecord makes rec the only one of existing (its type and name).
func (c *Client) setRecord(ctx context.Context, op, domain string, rec tasks.DNSRecord, existing []tasks.DNSRecord) error {
	want := &godo.DomainRecordEditRequest{Type: rec.Type, Name: rec.Name, Data: rec.Data, TTL: rec.TTL}
	if len(existing) == 0 {
		created, _, err := c.godo.Domains.CreateRecord(ctx, domain, want)
		if err != nil {
			return fail(op, err)
		}
		c.logger.DebugContext(ctx, "digitalocean: created DNS record", "domain", domain, "record_id", created.ID,
			"type", rec.Type, "name", rec.Name, "data", rec.Data, "ttl", created.TTL)
		return nil
	}
	matches := func(r tasks.DNSRecord) bool { return r.Data == rec.Data && (rec.TTL == 0 || r.TTL == rec.TTL) }
	keep := existing[0]
	for _, r := range existing {
		if matches(r) {
			keep = r
			break
		}
	}
	// Update before deleting, so the name always resolves.
	if !matches(keep) {
		if _, _, err := c.godo.Domains.EditRecord(ctx, domain, keep.ID, want); err != nil {
			return fail(fmt.Sprintf("%s: update record %d", op, keep.ID), err)
		}
		c.logger.DebugContext(ctx, "digitalocean: updated DNS record", "domain", domain, "record_id", keep.ID,
			"type", rec.Type, "name", rec.Name, "data", rec.Data, "old_data", keep.Data)
	}
	for _, r := range existing {
		if r.ID != keep.ID {
			if err := c.deleteRecord(ctx, op, domain, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// DeleteRecords deletes every A and AAAA record in domain named name. It
// returns nil if there is none, EINVALID when DigitalOcean has no such
// domain, and otherwise fails as the package doc says.
func (c *Client) DeleteRecords(ctx context.Context, domain, name string) error {
	op := fmt.Sprintf("delete DNS records %q in %q", name, domain)
	if c.err != nil {
		return fmt.Errorf("%s: %w", op, c.err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	existing, err := c.records(ctx, op, domain, name, "")
	if err != nil {
		return err
	}
	for _, r := range existing {
		if err := c.deleteRecord(ctx, op, domain, r); err != nil {
			return err
		}
	}
	return nil
}

// DeleteRecord deletes the record id in domain. It returns nil if the
// record is already gone (DigitalOcean answers 404 alike for a record and a
// domain that do not exist), and otherwise fails as the package doc says.
func (c *Client) DeleteRecord(ctx context.Context, domain string, id int) error {
	op := fmt.Sprintf("delete DNS record %d in %q", id, domain)
	if c.err != nil {
		return fmt.Errorf("%s: %w", op, c.err)
	}
	if domain == "" || url.PathEscape(domain) != domain {
		return fmt.Errorf("%s: empty domain or one that needs escaping", op)
	}
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	return c.deleteRecord(ctx, op, domain, tasks.DNSRecord{ID: id})
}

// deleteRecord deletes r; one already gone is fine.
func (c *Client) deleteRecord(ctx context.Context, op, domain string, r tasks.DNSRecord) error {
	_, err := c.godo.Domains.DeleteRecord(ctx, domain, r.ID)
	if err != nil && statusOf(err) != http.StatusNotFound {
		return fail(fmt.Sprintf("%s: delete record %d", op, r.ID), err)
	}
	c.logger.DebugContext(ctx, "digitalocean: deleted DNS record", "domain", domain, "record_id", r.ID,
		"type", r.Type, "name", r.Name, "data", r.Data)
	return nil
}

// records lists the A and AAAA records named name (of type typ only, if
// set). The API filters by the fully qualified name.
func (c *Client) records(ctx context.Context, op, domain, name, typ string) ([]tasks.DNSRecord, error) {
	if domain == "" || name == "" {
		return nil, fmt.Errorf("%s: empty domain or name", op)
	}
	fqdn := name + "." + domain
	if name == "@" {
		fqdn = domain
	}
	// godo puts both into the URL unescaped.
	if url.PathEscape(domain) != domain || url.QueryEscape(fqdn) != fqdn {
		return nil, fmt.Errorf("%s: domain or name needs escaping", op)
	}
	rs, _, err := allPages(ctx, c, op, func(ctx context.Context, opt *godo.ListOptions) ([]godo.DomainRecord, *godo.Response, error) {
		if typ != "" {
			return c.godo.Domains.RecordsByTypeAndName(ctx, domain, typ, fqdn, opt)
		}
		return c.godo.Domains.RecordsByName(ctx, domain, fqdn, opt)
	})
	if statusOf(err) == http.StatusNotFound {
		return nil, fmt.Errorf("%w: %w", tasks.Errorf(tasks.EINVALID,
			"DigitalOcean has no DNS domain %q. An instructor needs to add it in DigitalOcean (Networking, Domains) or fix `domain` in the bot's config.", domain), err)
	}
	if err != nil {
		return nil, err
	}
	var out []tasks.DNSRecord
	for _, r := range rs {
		if (r.Type == "A" || r.Type == "AAAA") && (typ == "" || r.Type == typ) {
			out = append(out, tasks.DNSRecord{ID: r.ID, Type: r.Type, Name: r.Name, Data: r.Data, TTL: r.TTL})
		}
	}
	return out, nil
}
