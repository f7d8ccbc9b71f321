package dosim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/dosim"
)

// listBody is the list response as raw as a test needs it: links stay maps
// so a missing key is visible.
type listBody struct {
	Droplets []map[string]any `json:"droplets"`
	Links    map[string]any   `json:"links"`
	Meta     map[string]any   `json:"meta"`
}

func seed(s *dosim.Server, n int, tag string) {
	for i := range n {
		s.AddDroplet(dosim.DropletSpec{Name: fmt.Sprintf("s%02d.cicf.cloud", i), Tags: []string{tag}})
	}
}

func TestListPagination(t *testing.T) {
	s := MustServer(t, dosim.Options{Token: token})
	seed(s, 45, "cicf")
	seed(s, 3, "other")

	tests := []struct {
		query     string
		wantCount int
		wantTotal int
		wantPages map[string]string // link name -> page number; nil: no "pages" at all
		wantPer   string
	}{
		{"tag_name=cicf", 20, 45, map[string]string{"next": "2", "last": "3"}, "20"},
		{"tag_name=cicf&page=2&per_page=20", 20, 45, map[string]string{"first": "1", "prev": "1", "next": "3", "last": "3"}, "20"},
		{"tag_name=cicf&page=3&per_page=20", 5, 45, map[string]string{"first": "1", "prev": "2"}, "20"},
		{"tag_name=cicf&per_page=200", 45, 45, nil, ""},
		{"tag_name=cicf&per_page=1000", 45, 45, nil, ""}, // capped at 200
		{"tag_name=cicf&per_page=45", 45, 45, nil, ""},
		{"tag_name=cicf&per_page=44", 44, 45, map[string]string{"next": "2", "last": "2"}, "44"},
		{"tag_name=other", 3, 3, nil, ""},
		{"tag_name=nobody", 0, 0, nil, ""},
		{"", 20, 48, map[string]string{"next": "2", "last": "3"}, "20"},
		{"tag_name=cicf&page=9", 0, 45, map[string]string{"first": "1", "prev": "8"}, "20"},
	}
	for _, tt := range tests {
		t.Run("?"+tt.query, func(t *testing.T) {
			resp, raw := get(t, s, token, "v2/droplets?"+tt.query)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			var body listBody
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatal(err)
			}
			if body.Droplets == nil {
				t.Errorf("droplets is null, want a JSON array")
			}
			if got := len(body.Droplets); got != tt.wantCount {
				t.Errorf("got %d droplets, want %d", got, tt.wantCount)
			}
			if got := body.Meta["total"]; got != float64(tt.wantTotal) {
				t.Errorf("meta.total = %v, want %d", got, tt.wantTotal)
			}
			pages, hasPages := body.Links["pages"].(map[string]any)
			if tt.wantPages == nil {
				if body.Links == nil || hasPages {
					t.Errorf("links = %v, want {}", body.Links)
				}
				return
			}
			if len(pages) != len(tt.wantPages) {
				t.Errorf("links.pages = %v, want keys %v", pages, tt.wantPages)
			}
			for name, wantPage := range tt.wantPages {
				link, _ := pages[name].(string)
				u, err := url.Parse(link)
				if err != nil || !u.IsAbs() {
					t.Errorf("links.pages.%s = %q, want an absolute URL", name, link)
					continue
				}
				q := u.Query()
				if q.Get("page") != wantPage || q.Get("per_page") != tt.wantPer {
					t.Errorf("links.pages.%s = %q, want page=%s per_page=%s", name, link, wantPage, tt.wantPer)
				}
				if want, _ := url.ParseQuery(tt.query); q.Get("tag_name") != want.Get("tag_name") {
					t.Errorf("links.pages.%s = %q lost tag_name", name, link)
				}
			}
		})
	}
}

func TestListOrderAndTags(t *testing.T) {
	s := MustServer(t, dosim.Options{Token: token})
	var ids []int
	for i := range 25 {
		ids = append(ids, s.AddDroplet(dosim.DropletSpec{Name: fmt.Sprintf("n%d", i), Tags: []string{"cicf", "extra"}}))
	}
	var got []int
	for page := 1; page <= 2; page++ {
		_, raw := get(t, s, token, "v2/droplets?tag_name=extra&page="+strconv.Itoa(page))
		var body listBody
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatal(err)
		}
		for _, d := range body.Droplets {
			got = append(got, int(d["id"].(float64)))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Errorf("ids across pages = %v, want %v (ascending, each once)", got, ids)
	}
}

func TestGetDropletShape(t *testing.T) {
	created := time.Date(2026, 1, 12, 8, 30, 0, 0, time.UTC)
	s := MustServer(t, dosim.Options{Token: token})
	id := s.AddDroplet(dosim.DropletSpec{
		Name: "emma.cicf.cloud", Status: "off", Tags: []string{"cicf"}, Region: "ams3", Size: "s-1vcpu-2gb",
		IPv4: "198.18.0.10", IPv6: "2001:db8::10", CreatedAt: created,
	})
	_, raw := get(t, s, token, "v2/droplets/"+strconv.Itoa(id))
	var body struct {
		Droplet struct {
			ID        int    `json:"id"`
			Name      string `json:"name"`
			Status    string `json:"status"`
			CreatedAt string `json:"created_at"`
			SizeSlug  string `json:"size_slug"`
			Size      struct {
				PriceMonthly float64 `json:"price_monthly"`
				PriceHourly  float64 `json:"price_hourly"`
			} `json:"size"`
			Region struct {
				Slug string `json:"slug"`
				Name string `json:"name"`
			} `json:"region"`
			Image struct {
				Slug string `json:"slug"`
			} `json:"image"`
			Networks networksBody `json:"networks"`
			Tags     []string     `json:"tags"`
		} `json:"droplet"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	d := body.Droplet
	checks := []struct {
		field     string
		got, want any
	}{
		{"id", d.ID, id},
		{"name", d.Name, "emma.cicf.cloud"},
		{"status", d.Status, "off"},
		{"created_at", d.CreatedAt, "2026-01-12T08:30:00Z"},
		{"size_slug", d.SizeSlug, "s-1vcpu-2gb"},
		{"size.price_monthly", d.Size.PriceMonthly, 12.0},
		{"size.price_hourly", d.Size.PriceHourly, 0.01786},
		{"region.slug", d.Region.Slug, "ams3"},
		{"region.name", d.Region.Name, "Amsterdam 3"},
		{"image.slug", d.Image.Slug, "debian-12-x64"},
		{"len(networks.v4)", len(d.Networks.V4), 2},
		{"len(networks.v6)", len(d.Networks.V6), 1},
		{"networks.v6[0].netmask", d.Networks.V6[0].Netmask, 64},
		{"tags", fmt.Sprint(d.Tags), "[cicf]"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("droplet.%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	var public []string
	for _, n := range d.Networks.V4 {
		if n.Type == "public" {
			public = append(public, n.IPAddress)
		}
	}
	if fmt.Sprint(public) != "[198.18.0.10]" {
		t.Errorf("public v4 addresses = %v, want [198.18.0.10] (private one typed private)", public)
	}
}

// TestConcurrentSeedAndList is for the race detector.
func TestConcurrentSeedAndList(t *testing.T) {
	s := MustServer(t, dosim.Options{Token: token})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 10 {
				s.AddDroplet(dosim.DropletSpec{Name: fmt.Sprintf("c%d-%d", i, j), Tags: []string{"cicf"}})
				req, _ := http.NewRequest(http.MethodGet, s.URL()+"v2/droplets?tag_name=cicf", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	_, raw := get(t, s, token, "v2/droplets?tag_name=cicf&per_page=200")
	var body listBody
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	if got := len(body.Droplets); got != 40 {
		t.Errorf("after concurrent seeding: %d droplets, want 40", got)
	}
	if got := s.Requests(); got != 41 {
		t.Errorf("Requests() = %d, want 41", got)
	}
}
