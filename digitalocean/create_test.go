package digitalocean_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/digitalocean"
	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
)

// secretUserData stands for cloud-init holding a host private key.
const secretUserData = "#cloud-config\nssh_keys:\n  ed25519_private: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n    c2VjcmV0LWhvc3Qta2V5\n"

func emmaCreate() tasks.DropletCreate {
	return tasks.DropletCreate{
		Name: "emma.cicf.cloud", Region: "fra1", Size: "s-1vcpu-1gb", Image: "debian-12-x64",
		Tags: []string{"cicf", "student-emma", "run-42"}, UserData: secretUserData, IPv6: true,
	}
}

// bodyRecorder keeps the bodies of the POSTs it forwards.
type bodyRecorder struct {
	base  http.RoundTripper
	mu    sync.Mutex
	posts [][]byte
}

func (b *bodyRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		b.mu.Lock()
		b.posts = append(b.posts, body)
		b.mu.Unlock()
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	return b.base.RoundTrip(r)
}

func TestCreateDroplet(t *testing.T) {
	var (
		mu      sync.Mutex
		created []dosim.DropletInfo
	)
	rec := &bodyRecorder{base: &http.Transport{}}
	e := MustEnvSim(t, digitalocean.Config{Transport: rec}, dosim.Options{
		BootDelay: 45 * time.Second,
		AssignIP: func(name string, id int) (string, string) {
			return "198.18.7.2", "2001:db8:7::2" // the test VM's namespace
		},
		OnCreate: func(d dosim.DropletInfo) {
			mu.Lock()
			defer mu.Unlock()
			created = append(created, d)
		},
	})
	req := emmaCreate()

	got, err := e.client.CreateDroplet(context.Background(), req)
	if err != nil {
		t.Fatalf("CreateDroplet(emma) error: %v", err)
	}
	if got.Name != req.Name || got.Status != "new" || got.IPv4 != "" || got.IPv6 != "" {
		t.Errorf("CreateDroplet(emma) = %+v, want emma.cicf.cloud, status new, no addresses yet", got)
	}
	if got.Region != "fra1" || got.Size != "s-1vcpu-1gb" || got.PriceMonthly != 6 || !slices.Equal(got.Tags, req.Tags) {
		t.Errorf("CreateDroplet(emma) = %+v, want fra1, s-1vcpu-1gb at $6, tags %v", got, req.Tags)
	}
	if ud := e.sim.UserData(got.ID); ud != secretUserData {
		t.Errorf("stored user_data = %q, want the request's", ud)
	}
	if len(created) != 1 || created[0].ID != got.ID || !slices.Equal(created[0].Tags, req.Tags) {
		t.Errorf("OnCreate saw %+v, want one droplet %d with tags %v", created, got.ID, req.Tags)
	}

	// The request DigitalOcean got.
	if len(rec.posts) != 1 {
		t.Fatalf("%d POSTs, want 1", len(rec.posts))
	}
	var body map[string]any
	if err := json.Unmarshal(rec.posts[0], &body); err != nil {
		t.Fatalf("POST body %s: %v", rec.posts[0], err)
	}
	for key, want := range map[string]any{
		"name": "emma.cicf.cloud", "region": "fra1", "size": "s-1vcpu-1gb", "image": "debian-12-x64",
		"ipv6": true, "monitoring": true, "user_data": secretUserData, "tags": []any{"cicf", "student-emma", "run-42"},
	} {
		if fmt.Sprint(body[key]) != fmt.Sprint(want) {
			t.Errorf("POST body %s = %v, want %v", key, body[key], want)
		}
	}

	// Booting, then up with the address AssignIP chose.
	if d, err := e.client.GetDroplet(context.Background(), got.ID); err != nil || d.Status != "new" {
		t.Fatalf("GetDroplet right after create = %+v, %v; want status new", d, err)
	}
	up := e.waitStatus(t, got.ID, "active")
	if up.IPv4 != "198.18.7.2" || up.IPv6 != "2001:db8:7::2" {
		t.Errorf("active droplet addresses %q %q, want 198.18.7.2 2001:db8:7::2", up.IPv4, up.IPv6)
	}

	if logs := e.logs.String(); strings.Contains(logs, "PRIVATE KEY") || strings.Contains(logs, "c2VjcmV0") {
		t.Errorf("the debug log contains user_data:\n%s", logs)
	}
}

func TestCreateDropletRefused(t *testing.T) {
	tests := []struct {
		name     string
		change   func(*tasks.DropletCreate)
		wantCode string
		wantText string // in the user message
	}{
		{"unknown size", func(r *tasks.DropletCreate) { r.Size = "s-1vcpu-1tb" }, tasks.EINVALID, "`size`"},
		{"unknown region", func(r *tasks.DropletCreate) { r.Region = "mars1" }, tasks.EINVALID, "`region`"},
		{"unknown image", func(r *tasks.DropletCreate) { r.Image = "debian-7-x64" }, tasks.EINVALID, "`image`"},
		{"bad name is our bug", func(r *tasks.DropletCreate) { r.Name = "emma_1.cicf.cloud" }, tasks.EINTERNAL, "Internal error."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustEnv(t, digitalocean.Config{})
			req := emmaCreate()
			tt.change(&req)

			_, err := e.client.CreateDroplet(context.Background(), req)

			if code := tasks.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("CreateDroplet error code %q (%v), want %q", code, err, tt.wantCode)
			}
			if msg := tasks.ErrorMessage(err); !strings.Contains(msg, tt.wantText) {
				t.Errorf("CreateDroplet message %q, want it to mention %s", msg, tt.wantText)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error %q contains user_data", err)
			}
			if got := statuses(e.requests("POST /v2/droplets")); !slices.Equal(got, []int{422}) {
				t.Errorf("POST statuses %v, want one 422 (not retried)", got)
			}
			if n := len(e.sim.Droplets()); n != 0 {
				t.Errorf("%d droplets stored, want 0", n)
			}
		})
	}
}

func TestGetDropletNotFound(t *testing.T) {
	e := MustEnv(t, digitalocean.Config{})
	_, err := e.client.GetDroplet(context.Background(), 123)
	if code := tasks.ErrorCode(err); code != tasks.ENOTFOUND {
		t.Errorf("GetDroplet(123) error code %q (%v), want %q", code, err, tasks.ENOTFOUND)
	}
}

func TestDeleteDroplet(t *testing.T) {
	tests := []struct {
		name        string
		tags        []string // nil: no such droplet
		tag         string
		wantCode    string
		wantDeletes int // DELETE requests sent
		wantLeft    int // droplets left
	}{
		{"tagged", []string{"student-emma", "cicf"}, "cicf", "", 1, 0},
		{"untagged is refused", []string{"student-emma"}, "cicf", tasks.EFORBIDDEN, 0, 1},
		{"another class", []string{"other-class"}, "cicf", tasks.EFORBIDDEN, 0, 1},
		{"already gone", nil, "cicf", "", 0, 0},
		{"empty tag", []string{"cicf"}, "", tasks.EINTERNAL, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustEnv(t, digitalocean.Config{})
			id := 424242
			if tt.tags != nil {
				id = e.sim.AddDroplet(dosim.DropletSpec{Name: "emma.cicf.cloud", Tags: tt.tags})
			}

			err := e.client.DeleteDroplet(context.Background(), id, tt.tag)

			if code := tasks.ErrorCode(err); code != tt.wantCode {
				t.Errorf("DeleteDroplet(%d, %q) error code %q (%v), want %q", id, tt.tag, code, err, tt.wantCode)
			}
			if n := len(e.requests("DELETE /v2/droplets/{id}")); n != tt.wantDeletes {
				t.Errorf("%d DELETE requests, want %d", n, tt.wantDeletes)
			}
			if n := len(e.sim.Droplets()); n != tt.wantLeft {
				t.Errorf("%d droplets left, want %d", n, tt.wantLeft)
			}
		})
	}
}

// TestDeleteDropletTwice checks that deleting a droplet DigitalOcean is
// still deleting, or has deleted, is fine.
func TestDeleteDropletTwice(t *testing.T) {
	e := MustEnvSim(t, digitalocean.Config{}, dosim.Options{DeleteDelay: time.Hour})
	id := e.sim.AddDroplet(dosim.DropletSpec{Name: "emma.cicf.cloud", Tags: []string{"cicf"}})
	if err := e.client.DeleteDroplet(context.Background(), id, "cicf"); err != nil {
		t.Fatalf("first DeleteDroplet error: %v", err)
	}
	if err := e.client.DeleteDroplet(context.Background(), id, "cicf"); err != nil {
		t.Errorf("DeleteDroplet while DigitalOcean is still deleting it: %v, want nil", err)
	}
	e.clock.Advance(time.Hour)
	if err := e.client.DeleteDroplet(context.Background(), id, "cicf"); err != nil {
		t.Errorf("DeleteDroplet after it is gone: %v, want nil", err)
	}
	if _, err := e.client.GetDroplet(context.Background(), id); tasks.ErrorCode(err) != tasks.ENOTFOUND {
		t.Errorf("GetDroplet after delete: %v, want %s", err, tasks.ENOTFOUND)
	}
}
