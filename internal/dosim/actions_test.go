package dosim_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/internal/dosim"
)

type actionBody struct {
	Action struct {
		ID          int     `json:"id"`
		Status      string  `json:"status"`
		Type        string  `json:"type"`
		ResourceID  int     `json:"resource_id"`
		CompletedAt *string `json:"completed_at"`
	} `json:"action"`
}

func TestPowerActions(t *testing.T) {
	tests := []struct {
		typ, from, want string
	}{
		{"power_off", "active", "off"},
		{"shutdown", "active", "off"},
		{"power_on", "off", "active"},
		{"reboot", "active", "active"},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			clock := newFakeClock()
			s := MustServer(t, dosim.Options{Token: token, Now: clock.Now, ActionDelay: 10 * time.Second})
			id := s.AddDroplet(dosim.DropletSpec{Name: "emma.cicf.cloud", Status: tt.from})
			path := "v2/droplets/" + strconv.Itoa(id) + "/actions"

			resp, raw := send(t, s, "POST", path, map[string]string{"type": tt.typ})
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("POST %s: status %d, want 201 (body %s)", path, resp.StatusCode, raw)
			}
			a := decode[actionBody](t, raw).Action
			if a.Status != "in-progress" || a.Type != tt.typ || a.ResourceID != id || a.CompletedAt != nil {
				t.Errorf("action %+v, want %s in progress on %d", a, tt.typ, id)
			}
			// One thing at a time, as DO has it.
			resp, raw = send(t, s, "POST", path, map[string]string{"type": "power_on"})
			if e := decodeError(t, raw); resp.StatusCode != http.StatusUnprocessableEntity || e.Message != "Droplet already has a pending event." {
				t.Errorf("second action: %d %+v, want 422 pending event", resp.StatusCode, e)
			}

			clock.Advance(10 * time.Second)
			_, raw = get(t, s, token, "v2/actions/"+strconv.Itoa(a.ID))
			if got := decode[actionBody](t, raw).Action; got.Status != "completed" || got.CompletedAt == nil {
				t.Errorf("action after its delay: %+v, want completed with completed_at", got)
			}
			if got := s.Droplets()[0].Status; got != tt.want {
				t.Errorf("droplet status after %s = %q, want %q", tt.typ, got, tt.want)
			}
			_, raw = get(t, s, token, path)
			if list := decode[struct {
				Actions []map[string]any `json:"actions"`
			}](t, raw).Actions; len(list) != 1 {
				t.Errorf("GET %s = %s, want the one action", path, raw)
			}
		})
	}
}

func TestActionErrors(t *testing.T) {
	s := MustServer(t, dosim.Options{Token: token})
	id := s.AddDroplet(dosim.DropletSpec{Name: "emma.cicf.cloud"})
	booting := s.AddDroplet(dosim.DropletSpec{Name: "liam.cicf.cloud", Status: "new"})
	gone := s.AddDroplet(dosim.DropletSpec{Name: "noah.cicf.cloud"})
	send(t, s, "DELETE", "v2/droplets/"+strconv.Itoa(gone), nil) // gone at once
	tests := []struct {
		name, path, typ string
		wantStatus      int
	}{
		{"unknown type", "v2/droplets/" + strconv.Itoa(id) + "/actions", "rebuild_everything", http.StatusUnprocessableEntity},
		{"still booting", "v2/droplets/" + strconv.Itoa(booting) + "/actions", "power_off", http.StatusUnprocessableEntity},
		{"no such droplet", "v2/droplets/" + strconv.Itoa(gone) + "/actions", "power_on", http.StatusNotFound},
		{"not a number", "v2/droplets/emma/actions", "power_on", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if resp, raw := send(t, s, "POST", tt.path, map[string]string{"type": tt.typ}); resp.StatusCode != tt.wantStatus {
				t.Errorf("POST %s %s: status %d, want %d (body %s)", tt.path, tt.typ, resp.StatusCode, tt.wantStatus, raw)
			}
		})
	}
	if resp, _ := get(t, s, token, "v2/actions/1"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET an unknown action: status %d, want 404", resp.StatusCode)
	}
}

func TestDeleteDelay(t *testing.T) {
	clock := newFakeClock()
	s := MustServer(t, dosim.Options{Token: token, Now: clock.Now, DeleteDelay: 5 * time.Second})
	id := s.AddDroplet(dosim.DropletSpec{Name: "emma.cicf.cloud"})
	path := "v2/droplets/" + strconv.Itoa(id)

	if resp, _ := send(t, s, "DELETE", path, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: status %d, want 204", resp.StatusCode)
	}
	if resp, _ := get(t, s, token, path); resp.StatusCode != http.StatusOK {
		t.Errorf("GET during the delete delay: status %d, want 200", resp.StatusCode)
	}
	if resp, _ := send(t, s, "DELETE", path, nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE again during the delay: status %d, want 204", resp.StatusCode)
	}
	clock.Advance(5 * time.Second)
	if resp, _ := get(t, s, token, path); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET after the delete delay: status %d, want 404", resp.StatusCode)
	}
	if resp, _ := send(t, s, "DELETE", path, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("DELETE after it is gone: status %d, want 404", resp.StatusCode)
	}
	if n := len(s.Droplets()); n != 0 {
		t.Errorf("%d droplets left, want 0", n)
	}
}
