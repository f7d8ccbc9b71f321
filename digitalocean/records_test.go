package digitalocean_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cicf/cicf-bot/digitalocean"
	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
)

const domain = "cicf.cloud"

// addrRecords returns the domain's A and AAAA records as "TYPE name data ttl".
func addrRecords(sim *dosim.Server) []string {
	var out []string
	for _, r := range sim.Records(domain) {
		if r.Type == "A" || r.Type == "AAAA" {
			out = append(out, fmt.Sprintf("%s %s %s %d", r.Type, r.Name, r.Data, r.TTL))
		}
	}
	slices.Sort(out)
	return out
}

func TestSetRecord(t *testing.T) {
	tests := []struct {
		name        string
		seed        []dosim.RecordInfo
		set         tasks.DNSRecord
		want        []string // A and AAAA records afterwards
		wantKeepID  int      // index into seed of the record kept; -1: a new one
		wantMethods []string // record writes, in order
	}{
		{
			name: "creates",
			seed: []dosim.RecordInfo{{Type: "A", Name: "noah", Data: "198.18.2.2"}},
			set:  tasks.DNSRecord{Type: "A", Name: "emma", Data: "198.18.1.2", TTL: 60},
			want: []string{"A emma 198.18.1.2 60", "A noah 198.18.2.2 1800"}, wantKeepID: -1,
			wantMethods: []string{"POST"},
		},
		{
			name: "updates in place",
			seed: []dosim.RecordInfo{{Type: "A", Name: "emma", Data: "198.18.9.2", TTL: 60}, {Type: "AAAA", Name: "emma", Data: "2001:db8:9::2", TTL: 60}},
			set:  tasks.DNSRecord{Type: "A", Name: "emma", Data: "198.18.1.2", TTL: 60},
			want: []string{"A emma 198.18.1.2 60", "AAAA emma 2001:db8:9::2 60"}, wantKeepID: 0,
			wantMethods: []string{"PUT"},
		},
		{
			name: "changes the TTL",
			seed: []dosim.RecordInfo{{Type: "AAAA", Name: "emma", Data: "2001:db8:1::2", TTL: 1800}},
			set:  tasks.DNSRecord{Type: "AAAA", Name: "emma", Data: "2001:db8:1::2", TTL: 60},
			want: []string{"AAAA emma 2001:db8:1::2 60"}, wantKeepID: 0,
			wantMethods: []string{"PUT"},
		},
		{
			name: "already right",
			seed: []dosim.RecordInfo{{Type: "A", Name: "emma", Data: "198.18.1.2", TTL: 60}},
			set:  tasks.DNSRecord{Type: "A", Name: "emma", Data: "198.18.1.2", TTL: 60},
			want: []string{"A emma 198.18.1.2 60"}, wantKeepID: 0,
		},
		{
			name: "collapses duplicates into the oldest",
			seed: []dosim.RecordInfo{
				{Type: "A", Name: "emma", Data: "198.18.9.2", TTL: 60},
				{Type: "A", Name: "emma", Data: "198.18.8.2", TTL: 60},
				{Type: "A", Name: "emma", Data: "198.18.7.2", TTL: 60},
			},
			set:  tasks.DNSRecord{Type: "A", Name: "emma", Data: "198.18.1.2", TTL: 60},
			want: []string{"A emma 198.18.1.2 60"}, wantKeepID: 0,
			wantMethods: []string{"PUT", "DELETE", "DELETE"},
		},
		{
			name: "collapses duplicates into the one already right",
			seed: []dosim.RecordInfo{
				{Type: "A", Name: "emma", Data: "198.18.9.2", TTL: 60},
				{Type: "A", Name: "emma", Data: "198.18.1.2", TTL: 60},
			},
			set:  tasks.DNSRecord{Type: "A", Name: "emma", Data: "198.18.1.2", TTL: 60},
			want: []string{"A emma 198.18.1.2 60"}, wantKeepID: 1,
			wantMethods: []string{"DELETE"},
		},
		{
			name: "the apex",
			set:  tasks.DNSRecord{Type: "A", Name: "@", Data: "198.18.0.1", TTL: 300},
			want: []string{"A @ 198.18.0.1 300"}, wantKeepID: -1,
			wantMethods: []string{"POST"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustEnv(t, digitalocean.Config{})
			e.sim.AddDomain(domain)
			var ids []int
			for _, r := range tt.seed {
				ids = append(ids, e.sim.AddRecord(domain, r))
			}

			if err := e.client.SetRecords(context.Background(), domain, tt.set.Name, []tasks.DNSRecord{tt.set}); err != nil {
				t.Fatalf("SetRecord(%+v) error: %v", tt.set, err)
			}

			if got := addrRecords(e.sim); !slices.Equal(got, tt.want) {
				t.Errorf("records after SetRecord(%+v) = %q, want %q", tt.set, got, tt.want)
			}
			if tt.wantKeepID >= 0 {
				kept := slices.ContainsFunc(e.sim.Records(domain), func(r dosim.RecordInfo) bool { return r.ID == ids[tt.wantKeepID] })
				if !kept {
					t.Errorf("record %d was replaced, want it updated in place", ids[tt.wantKeepID])
				}
			}
			var methods []string
			for _, r := range e.sim.RequestLog() {
				if r.Method != "GET" {
					methods = append(methods, r.Method)
				}
			}
			if !slices.Equal(methods, tt.wantMethods) {
				t.Errorf("record writes = %v, want %v", methods, tt.wantMethods)
			}
		})
	}
}

func TestListAndDeleteRecords(t *testing.T) {
	e := MustEnv(t, digitalocean.Config{PerPage: 2}) // emma's records span pages
	e.sim.AddDomain(domain)
	for _, r := range []dosim.RecordInfo{
		{Type: "A", Name: "emma", Data: "198.18.1.2"},
		{Type: "TXT", Name: "emma", Data: "keep me"},
		{Type: "AAAA", Name: "emma", Data: "2001:db8:1::2"},
		{Type: "A", Name: "emma", Data: "198.18.9.2"},
		{Type: "A", Name: "noah", Data: "198.18.2.2"},
		{Type: "A", Name: "emma.cicf", Data: "198.18.3.2"},
	} {
		e.sim.AddRecord(domain, r)
	}
	ctx := context.Background()

	got, err := e.client.ListRecords(ctx, domain, "emma")
	if err != nil {
		t.Fatalf("ListRecords(emma) error: %v", err)
	}
	var seen []string
	for _, r := range got {
		seen = append(seen, r.Type+" "+r.Name+" "+r.Data)
	}
	if want := []string{"A emma 198.18.1.2", "AAAA emma 2001:db8:1::2", "A emma 198.18.9.2"}; !slices.Equal(seen, want) {
		t.Errorf("ListRecords(emma) = %q, want %q", seen, want)
	}
	for _, r := range e.requests("GET /v2/domains/{domain}/records") {
		if q := r.Query.Get("name"); q != "emma.cicf.cloud" {
			t.Errorf("records asked by name=%q, want the FQDN emma.cicf.cloud", q)
		}
	}

	if err := e.client.DeleteRecords(ctx, domain, "emma"); err != nil {
		t.Fatalf("DeleteRecords(emma) error: %v", err)
	}
	if got, want := addrRecords(e.sim), []string{"A emma.cicf 198.18.3.2 1800", "A noah 198.18.2.2 1800"}; !slices.Equal(got, want) {
		t.Errorf("after DeleteRecords(emma): %q, want %q", got, want)
	}
	if !slices.ContainsFunc(e.sim.Records(domain), func(r dosim.RecordInfo) bool { return r.Type == "TXT" }) {
		t.Errorf("DeleteRecords(emma) deleted the TXT record, want only A and AAAA gone")
	}
	if err := e.client.DeleteRecords(ctx, domain, "emma"); err != nil {
		t.Errorf("DeleteRecords(emma) with none left: %v, want nil", err)
	}
}

func TestRecordsUnknownDomain(t *testing.T) {
	e := MustEnv(t, digitalocean.Config{})
	ctx := context.Background()
	calls := map[string]func() error{
		"ListRecords": func() error { _, err := e.client.ListRecords(ctx, domain, "emma"); return err },
		"SetRecords": func() error {
			return e.client.SetRecords(ctx, domain, "emma", []tasks.DNSRecord{{Type: "A", Name: "emma", Data: "198.18.1.2"}})
		},
		"DeleteRecords": func() error { return e.client.DeleteRecords(ctx, domain, "emma") },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			if code := tasks.ErrorCode(err); code != tasks.EINVALID {
				t.Fatalf("%s with no domain %s: code %q (%v), want %q", name, domain, code, err, tasks.EINVALID)
			}
			if msg := tasks.ErrorMessage(err); !strings.Contains(msg, "`domain`") {
				t.Errorf("%s message %q, want it to name the config key `domain`", name, msg)
			}
		})
	}
}

func TestSizes(t *testing.T) {
	e := MustEnv(t, digitalocean.Config{PerPage: 4})
	got, err := e.client.Sizes(context.Background())
	if err != nil {
		t.Fatalf("Sizes() error: %v", err)
	}
	if n := len(e.requests("GET /v2/sizes")); n != 2 {
		t.Errorf("%d requests for 6 sizes 4 a page, want 2", n)
	}
	var slugs []string
	for _, s := range got {
		slugs = append(slugs, s.Slug)
	}
	if want := []string{"s-1vcpu-512mb-10gb", "s-1vcpu-1gb", "s-1vcpu-2gb", "s-2vcpu-2gb", "s-2vcpu-4gb", "s-4vcpu-8gb"}; !slices.Equal(slugs, want) {
		t.Errorf("Sizes() slugs = %v, want %v", slugs, want)
	}
	want := tasks.Size{Slug: "s-1vcpu-2gb", VCPUs: 1, MemoryMB: 2048, DiskGB: 50, PriceHourly: 0.01786, PriceMonthly: 12}
	if i := slices.IndexFunc(got, func(s tasks.Size) bool { return s.Slug == want.Slug }); i < 0 || got[i] != want {
		t.Errorf("Sizes() has %+v, want %+v", got, want)
	}
}

// TestSetRecordsListsOnce checks that setting A and AAAA together costs one
// listing: the request budget is what limits a class provisioned at once.
func TestSetRecordsListsOnce(t *testing.T) {
	e := MustEnv(t, digitalocean.Config{})
	e.sim.AddDomain(domain)
	before := e.sim.Requests()
	err := e.client.SetRecords(context.Background(), domain, "emma", []tasks.DNSRecord{
		{Type: "A", Name: "emma", Data: "198.18.1.2", TTL: 60},
		{Type: "AAAA", Name: "emma", Data: "2001:db8::2", TTL: 60},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.sim.Requests() - before; got != 3 {
		t.Errorf("SetRecords of A and AAAA took %d requests, want 3 (one list, two creates)", got)
	}
	var got []string
	for _, r := range e.sim.Records(domain) {
		if r.Type == "A" || r.Type == "AAAA" {
			got = append(got, r.Type+" "+r.Name+" "+r.Data)
		}
	}
	if want := "A emma 198.18.1.2,AAAA emma 2001:db8::2"; strings.Join(got, ",") != want {
		t.Errorf("records = %v, want %s", got, want)
	}
}

// DeleteRecord deletes by ID: the record named alike and the other types
// stay, and a record already gone is not an error.
func TestDeleteRecord(t *testing.T) {
	e := MustEnv(t, digitalocean.Config{})
	e.sim.AddDomain(domain)
	mine := e.sim.AddRecord(domain, dosim.RecordInfo{Type: "A", Name: "emma", Data: "198.18.1.2"})
	e.sim.AddRecord(domain, dosim.RecordInfo{Type: "A", Name: "emma", Data: "198.18.250.2"})
	ctx := context.Background()
	if err := e.client.DeleteRecord(ctx, domain, mine); err != nil {
		t.Fatalf("DeleteRecord(%d) = %v", mine, err)
	}
	if got, want := addrRecords(e.sim), []string{"A emma 198.18.250.2 1800"}; !slices.Equal(got, want) {
		t.Errorf("after DeleteRecord(%d): %q, want %q", mine, got, want)
	}
	if err := e.client.DeleteRecord(ctx, domain, mine); err != nil {
		t.Errorf("DeleteRecord(%d) again = %v, want nil", mine, err)
	}
	if n := len(e.requests("DELETE /v2/domains/{domain}/records/{id}")); n != 2 {
		t.Errorf("%d DELETE requests, want 2", n)
	}
}
