package dosim_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/cicf/cicf-bot/internal/dosim"
)

type recordJSON struct {
	ID   int    `json:"id"`
	Type string `json:"type"`
	Name string `json:"name"`
	Data string `json:"data"`
	TTL  int    `json:"ttl"`
}

type recordsBody struct {
	Records []recordJSON   `json:"domain_records"`
	Links   map[string]any `json:"links"`
	Meta    struct {
		Total int `json:"total"`
	} `json:"meta"`
}

func TestRecordFilters(t *testing.T) {
	s := MustServer(t, dosim.Options{Token: token})
	s.AddDomain("cicf.cloud")
	for _, r := range []dosim.RecordInfo{
		{Type: "A", Name: "emma", Data: "198.18.1.2"},
		{Type: "AAAA", Name: "emma", Data: "2001:db8:1::2"},
		{Type: "A", Name: "noah", Data: "198.18.2.2"},
		{Type: "A", Name: "@", Data: "198.18.0.1"},
	} {
		s.AddRecord("cicf.cloud", r)
	}
	tests := []struct {
		query string
		want  []string // "TYPE name"
	}{
		{"name=emma.cicf.cloud", []string{"A emma", "AAAA emma"}},
		{"name=emma.cicf.cloud&type=AAAA", []string{"AAAA emma"}},
		{"name=emma", nil}, // DO wants the FQDN
		{"name=cicf.cloud&type=A", []string{"A @"}},
		{"type=NS", []string{"NS @", "NS @", "NS @"}},
		{"type=A&per_page=2&page=2", []string{"A @"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			resp, raw := get(t, s, token, "v2/domains/cicf.cloud/records?"+tt.query)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200 (body %s)", resp.StatusCode, raw)
			}
			var got []string
			for _, r := range decode[recordsBody](t, raw).Records {
				got = append(got, r.Type+" "+r.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("records?%s = %q, want %q", tt.query, got, tt.want)
			}
		})
	}
}

func TestRecordWrites(t *testing.T) {
	s := MustServer(t, dosim.Options{Token: token})
	s.AddDomain("cicf.cloud")
	base := "v2/domains/cicf.cloud/records"

	resp, raw := send(t, s, "POST", base, map[string]any{"type": "A", "name": "emma", "data": "198.18.1.2"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: status %d, want 201 (body %s)", resp.StatusCode, raw)
	}
	rec := decode[map[string]recordJSON](t, raw)["domain_record"]
	if rec.TTL != 1800 || rec.Name != "emma" {
		t.Errorf("created %+v, want name emma with DO's default TTL 1800", rec)
	}
	path := base + "/" + strconv.Itoa(rec.ID)

	_, raw = send(t, s, "PATCH", path, map[string]any{"data": "198.18.9.2"})
	if got := decode[map[string]recordJSON](t, raw)["domain_record"]; got.Data != "198.18.9.2" || got.TTL != 1800 || got.Type != "A" {
		t.Errorf("after PATCH data: %+v, want only data changed", got)
	}
	_, raw = send(t, s, "PUT", path, map[string]any{"type": "A", "name": "emma", "data": "198.18.9.2", "ttl": 60})
	if got := decode[map[string]recordJSON](t, raw)["domain_record"]; got.TTL != 60 {
		t.Errorf("after PUT ttl: %+v, want TTL 60", got)
	}

	refusals := []struct {
		name, method, path string
		body               map[string]any
		wantStatus         int
	}{
		{"IPv6 in an A record", "POST", base, map[string]any{"type": "A", "name": "x", "data": "2001:db8::1"}, 422},
		{"IPv4 in an AAAA record", "POST", base, map[string]any{"type": "AAAA", "name": "x", "data": "198.18.1.2"}, 422},
		{"TTL too low", "POST", base, map[string]any{"type": "A", "name": "x", "data": "198.18.1.2", "ttl": 5}, 422},
		{"no name", "POST", base, map[string]any{"type": "A", "data": "198.18.1.2"}, 422},
		{"unknown type", "POST", base, map[string]any{"type": "WKS", "name": "x", "data": "y"}, 422},
		{"type change", "PATCH", path, map[string]any{"type": "AAAA", "data": "2001:db8::1"}, 422},
		{"unknown domain", "POST", "v2/domains/example.org/records", map[string]any{"type": "A", "name": "x", "data": "198.18.1.2"}, 404},
		{"unknown record", "PATCH", base + "/1", map[string]any{"data": "198.18.1.2"}, 404},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			resp, raw := send(t, s, tt.method, tt.path, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("%s %s %v: status %d, want %d (body %s)", tt.method, tt.path, tt.body, resp.StatusCode, tt.wantStatus, raw)
			}
		})
	}

	if resp, _ := send(t, s, "DELETE", path, nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE: status %d, want 204", resp.StatusCode)
	}
	if resp, _ := get(t, s, token, path); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET after DELETE: status %d, want 404", resp.StatusCode)
	}
	var left []string
	for _, r := range s.Records("cicf.cloud") {
		left = append(left, r.Type)
	}
	if want := []string{"NS", "NS", "NS", "SOA"}; !slices.Equal(left, want) {
		t.Errorf("records left %v, want DO's own %v", left, want)
	}
	if got := s.Counts(); got["PATCH /v2/domains/{domain}/records/{id}"] != 3 || got["DELETE /v2/domains/{domain}/records/{id}"] != 1 {
		t.Errorf("Counts() = %v, want 3 PATCH and 1 DELETE by route", got)
	}
}

type sizesBody struct {
	Sizes []struct {
		Slug         string   `json:"slug"`
		PriceMonthly float64  `json:"price_monthly"`
		PriceHourly  float64  `json:"price_hourly"`
		Regions      []string `json:"regions"`
		Available    bool     `json:"available"`
	} `json:"sizes"`
}

func TestSizes(t *testing.T) {
	s := MustServer(t, dosim.Options{Token: token})
	_, raw := get(t, s, token, "v2/sizes?per_page=200")
	var got []string
	for _, sz := range decode[sizesBody](t, raw).Sizes {
		got = append(got, fmt.Sprintf("%s %g %g", sz.Slug, sz.PriceMonthly, sz.PriceHourly))
		if !sz.Available || !slices.Contains(sz.Regions, "fra1") {
			t.Errorf("size %s: available %v in %v, want available in fra1", sz.Slug, sz.Available, sz.Regions)
		}
	}
	want := []string{
		"s-1vcpu-512mb-10gb 4 0.00595", "s-1vcpu-1gb 6 0.00893", "s-1vcpu-2gb 12 0.01786",
		"s-2vcpu-2gb 18 0.02679", "s-2vcpu-4gb 24 0.03571", "s-4vcpu-8gb 48 0.07143",
	}
	if !slices.Equal(got, want) {
		t.Errorf("sizes = %q, want %q (cheapest first)", got, want)
	}
}
