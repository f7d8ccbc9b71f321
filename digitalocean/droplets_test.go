package digitalocean_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/digitalocean"
	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
)

func TestListDropletsPagination(t *testing.T) {
	tests := []struct {
		name         string
		tagged       int
		perPage      int
		wantPages    []string // the page parameter of each request
		wantPerPage  string
		wantDroplets int
	}{
		{"45 over pages of 20", 45, 20, []string{"1", "2", "3"}, "20", 45},
		{"40 fill two pages exactly", 40, 20, []string{"1", "2"}, "20", 40},
		{"45 on one default page", 45, 0, []string{"1"}, "200", 45},
		{"201 need two default pages", 201, 0, []string{"1", "2"}, "200", 201},
		{"over 200 asked is 200", 45, 500, []string{"1"}, "200", 45},
		{"none tagged", 0, 20, []string{"1"}, "20", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustEnv(t, digitalocean.Config{PerPage: tt.perPage})
			e.seed(tt.tagged, "s", "cicf")
			e.seed(7, "x", "other-class")

			got, err := e.client.ListDroplets(context.Background(), "cicf")
			if err != nil {
				t.Fatalf("ListDroplets(cicf) error: %v", err)
			}
			if len(got) != tt.wantDroplets {
				t.Errorf("ListDroplets(cicf) returned %d droplets, want %d", len(got), tt.wantDroplets)
			}
			seen := map[int]bool{}
			for _, d := range got {
				if seen[d.ID] {
					t.Errorf("droplet %d returned twice", d.ID)
				}
				seen[d.ID] = true
				if !slices.Contains(d.Tags, "cicf") {
					t.Errorf("droplet %s has tags %v, want cicf among them", d.Name, d.Tags)
				}
			}
			var pages []string
			for _, r := range e.sim.RequestLog() {
				if r.Method != "GET" || r.Path != "/v2/droplets" {
					t.Errorf("request %s %s, want GET /v2/droplets", r.Method, r.Path)
				}
				if r.Query.Get("tag_name") != "cicf" || r.Query.Get("per_page") != tt.wantPerPage {
					t.Errorf("request query %v, want tag_name=cicf per_page=%s", r.Query, tt.wantPerPage)
				}
				pages = append(pages, r.Query.Get("page"))
			}
			if !slices.Equal(pages, tt.wantPages) {
				t.Errorf("pages requested = %v, want %v", pages, tt.wantPages)
			}
		})
	}
}

func TestListDropletsMapping(t *testing.T) {
	e := MustEnv(t, digitalocean.Config{})
	created := time.Date(2026, 1, 12, 8, 30, 0, 0, time.UTC)
	specs := []dosim.DropletSpec{
		{Name: "emma.cicf.cloud", Status: "active", Tags: []string{"cicf"}, Region: "ams3", Size: "s-1vcpu-2gb",
			IPv4: "198.18.0.10", IPv6: "2001:db8::10", CreatedAt: created},
		{Name: "noah.cicf.cloud", Status: "new", Tags: []string{"cicf", "extra"}, CreatedAt: created.Add(time.Hour)},
	}
	var ids []int
	for _, s := range specs {
		ids = append(ids, e.sim.AddDroplet(s))
	}
	want := []tasks.Droplet{
		{ID: ids[0], Name: "emma.cicf.cloud", Status: "active", IPv4: "198.18.0.10", IPv6: "2001:db8::10",
			Region: "ams3", Size: "s-1vcpu-2gb", Tags: []string{"cicf"}, CreatedAt: created,
			PriceHourly: 0.01786, PriceMonthly: 12},
		{ID: ids[1], Name: "noah.cicf.cloud", Status: "new",
			Region: "fra1", Size: "s-1vcpu-1gb", Tags: []string{"cicf", "extra"}, CreatedAt: created.Add(time.Hour),
			PriceHourly: 0.00893, PriceMonthly: 6},
	}
	got, err := e.client.ListDroplets(context.Background(), "cicf")
	if err != nil {
		t.Fatalf("ListDroplets(cicf) error: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("ListDroplets(cicf) = %d droplets, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].CreatedAt.Equal(want[i].CreatedAt) {
			t.Errorf("droplet %d CreatedAt = %v, want %v", i, got[i].CreatedAt, want[i].CreatedAt)
		}
		got[i].CreatedAt = want[i].CreatedAt // compared above, location aside
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("droplet %d =\n %+v\nwant\n %+v", i, got[i], want[i])
		}
	}
}

func TestListDropletsConfigErrors(t *testing.T) {
	tests := []struct {
		name     string
		token    string
		tag      string
		wantCode string
		wantText string // in the user message
	}{
		{"wrong token", "dop_v1_wrong", "cicf", tasks.EUNAVAILABLE, "DIGITALOCEAN_TOKEN"},
		{"no token", " ", "cicf", tasks.EUNAVAILABLE, "DIGITALOCEAN_TOKEN"},
		{"empty tag", token, "", tasks.EINTERNAL, "Internal error."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustEnv(t, digitalocean.Config{Token: tt.token})
			_, err := e.client.ListDroplets(context.Background(), tt.tag)
			if got := tasks.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("ListDroplets(%q) error code %q (%v), want %q", tt.tag, got, err, tt.wantCode)
			}
			if msg := tasks.ErrorMessage(err); !strings.Contains(msg, tt.wantText) {
				t.Errorf("ListDroplets(%q) message %q, want it to mention %s", tt.tag, msg, tt.wantText)
			}
			if strings.Contains(fmt.Sprint(err), strings.TrimSpace(tt.token)) && strings.TrimSpace(tt.token) != "" {
				t.Errorf("error %q contains the token", err)
			}
			if n := e.sim.Requests(); n > 1 {
				t.Errorf("%d requests, want at most 1 (a rejected token is not retried)", n)
			}
			if w := e.clock.Waits(); len(w) != 0 {
				t.Errorf("waited %v, want no retries", w)
			}
		})
	}
}
