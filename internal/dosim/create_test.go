package dosim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/dosim"
)

// send sends method path (relative to the server) with the test token and
// body as JSON (none if nil), and returns the response with its body read.
func send(tb testing.TB, s *dosim.Server, method, path string, body any) (*http.Response, []byte) {
	tb.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL()+path, r)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, raw
}

func decode[T any](tb testing.TB, raw []byte) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// networksBody is a droplet's "networks" as the API writes it.
type networksBody struct {
	V4 []struct {
		IPAddress string `json:"ip_address"`
		Type      string `json:"type"`
	} `json:"v4"`
	V6 []struct {
		IPAddress string `json:"ip_address"`
		Type      string `json:"type"`
		Netmask   int    `json:"netmask"`
	} `json:"v6"`
}

type createdBody struct {
	Droplet struct {
		ID       int          `json:"id"`
		Status   string       `json:"status"`
		Networks networksBody `json:"networks"`
	} `json:"droplet"`
	Links struct {
		Actions []struct {
			ID   int    `json:"id"`
			Rel  string `json:"rel"`
			HREF string `json:"href"`
		} `json:"actions"`
	} `json:"links"`
}

func createBody(change func(map[string]any)) map[string]any {
	b := map[string]any{
		"name": "emma.cicf.cloud", "region": "fra1", "size": "s-1vcpu-1gb", "image": "debian-12-x64",
		"tags": []string{"cicf", "student-emma"}, "user_data": "#cloud-config\n", "ipv6": true, "monitoring": true,
	}
	if change != nil {
		change(b)
	}
	return b
}

func TestCreateValidation(t *testing.T) {
	tests := []struct {
		name    string
		change  func(map[string]any)
		wantMsg string
	}{
		{"no name", func(b map[string]any) { delete(b, "name") }, "Name is required."},
		{"bad name", func(b map[string]any) { b["name"] = "emma_1.cicf.cloud" }, "Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)"},
		{"bad region", func(b map[string]any) { b["region"] = "mars1" }, "You specified an invalid region for Droplet creation."},
		{"bad size", func(b map[string]any) { b["size"] = "s-1vcpu-1tb" }, "You specified an invalid size for Droplet creation."},
		{"bad image", func(b map[string]any) { b["image"] = "debian-7-x64" }, "You specified an invalid image for Droplet creation."},
		{"bad image id", func(b map[string]any) { b["image"] = 42 }, "You specified an invalid image for Droplet creation."},
		{"bad tag", func(b map[string]any) { b["tags"] = []string{"cicf class"} }, "Tag names may only contain letters, numbers, colons, dashes, and underscores; and may not exceed 255 characters."},
		{"user_data too long", func(b map[string]any) { b["user_data"] = string(make([]byte, 64<<10+1)) }, "user_data has a maximum size of 64 KiB."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MustServer(t, dosim.Options{Token: token})
			resp, raw := send(t, s, "POST", "v2/droplets", createBody(tt.change))
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("POST status %d, want 422 (body %s)", resp.StatusCode, raw)
			}
			if e := decodeError(t, raw); e.ID != "unprocessable_entity" || e.Message != tt.wantMsg {
				t.Errorf("422 body %+v, want unprocessable_entity %q", e, tt.wantMsg)
			}
			if n := len(s.Droplets()); n != 0 {
				t.Errorf("%d droplets stored, want 0", n)
			}
		})
	}
}

func TestCreateBoots(t *testing.T) {
	clock := newFakeClock()
	var (
		s    *dosim.Server
		mu   sync.Mutex
		seen []dosim.DropletInfo
	)
	s = MustServer(t, dosim.Options{
		Token: token, Now: clock.Now, BootDelay: 100 * time.Second, TimeScale: 0.01,
		// Both call back into the server: they run outside its lock.
		AssignIP: func(name string, id int) (string, string) {
			_ = s.Requests()
			return "198.18.7.2", "2001:db8:7::2"
		},
		OnCreate: func(d dosim.DropletInfo) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, s.Droplets()...)
		},
	})

	resp, raw := send(t, s, "POST", "v2/droplets", createBody(nil))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST status %d, want 202 (body %s)", resp.StatusCode, raw)
	}
	c := decode[createdBody](t, raw)
	d := c.Droplet
	if d.Status != "new" || len(d.Networks.V4) != 0 || len(d.Networks.V6) != 0 {
		t.Errorf("created droplet %+v, want status new without networks", d)
	}
	if len(c.Links.Actions) != 1 || c.Links.Actions[0].Rel != "create" || c.Links.Actions[0].HREF != s.URL()+"v2/actions/"+strconv.Itoa(c.Links.Actions[0].ID) {
		t.Errorf("links.actions = %+v, want one create action with its href", c.Links.Actions)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0].ID != d.ID || seen[0].Status != "new" {
		t.Errorf("OnCreate saw %+v, want droplet %d as new", seen, d.ID)
	}
	mu.Unlock()
	if got := s.UserData(d.ID); got != "#cloud-config\n" {
		t.Errorf("UserData(%d) = %q, want the request's", d.ID, got)
	}
	action := "v2/actions/" + strconv.Itoa(c.Links.Actions[0].ID)
	if _, raw := get(t, s, token, action); decode[map[string]map[string]any](t, raw)["action"]["status"] != "in-progress" {
		t.Errorf("create action %s, want in-progress", raw)
	}

	clock.Advance(999 * time.Millisecond) // BootDelay × TimeScale is 1s
	if got := s.Droplets()[0]; got.Status != "new" || got.IPv4 != "" {
		t.Errorf("before the boot delay: %+v, want new without address", got)
	}
	clock.Advance(time.Millisecond)
	if got := s.Droplets()[0]; got.Status != "active" || got.IPv4 != "198.18.7.2" || got.IPv6 != "2001:db8:7::2" {
		t.Errorf("after the boot delay: %+v, want active at AssignIP's 198.18.7.2 and 2001:db8:7::2", got)
	}
	if _, raw := get(t, s, token, action); decode[map[string]map[string]any](t, raw)["action"]["status"] != "completed" {
		t.Errorf("create action %s, want completed", raw)
	}
}

func TestCreateDefaultAddresses(t *testing.T) {
	s := MustServer(t, dosim.Options{Token: token})
	v4 := netip.MustParsePrefix("198.18.0.0/15")
	v6 := netip.MustParsePrefix("2001:db8::/32")
	seen := map[string]bool{}
	for i := range 300 {
		send(t, s, "POST", "v2/droplets", createBody(func(b map[string]any) { b["ipv6"] = i%2 == 0 }))
	}
	ds := s.Droplets()
	for _, d := range ds {
		if d.Status != "active" || !v4.Contains(netip.MustParseAddr(d.IPv4)) || seen[d.IPv4] {
			t.Fatalf("droplet %+v, want active with a fresh IPv4 in %s", d, v4)
		}
		seen[d.IPv4] = true
		wantV6 := (d.ID-ds[0].ID)%2 == 0
		if got := d.IPv6 != ""; got != wantV6 || (got && !v6.Contains(netip.MustParseAddr(d.IPv6))) {
			t.Fatalf("droplet %+v: IPv6 %q, want one in %s only when asked", d, d.IPv6, v6)
		}
	}
}
