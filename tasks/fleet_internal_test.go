package tasks

import (
	"testing"
	"time"
)

// sameCloudView compares every field the cloud reports: a difference in
// any one of them must be written, so each is flipped once here.
func TestSameCloudView(t *testing.T) {
	base := VM{Name: "emma", DropletID: 7, Status: "active", IPv4: "198.18.0.10", IPv6: "2001:db8::10",
		Region: "fra1", Size: "s-1vcpu-1gb", CreatedAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC),
		HostKey: "ssh-ed25519 AAAA", SeenAt: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	tests := []struct {
		name   string
		change func(*VM)
		same   bool
	}{
		{"identical", func(*VM) {}, true},
		// What only the bot knows is not the cloud's view.
		{"host key", func(v *VM) { v.HostKey = "" }, true},
		{"seen at", func(v *VM) { v.SeenAt = v.SeenAt.Add(time.Hour) }, true},
		{"created at other zone", func(v *VM) { v.CreatedAt = v.CreatedAt.In(time.FixedZone("X", 3600)) }, true},
		{"droplet id", func(v *VM) { v.DropletID = 8 }, false},
		{"status", func(v *VM) { v.Status = "off" }, false},
		{"ipv4", func(v *VM) { v.IPv4 = "198.18.0.11" }, false},
		{"ipv6", func(v *VM) { v.IPv6 = "2001:db8::11" }, false},
		{"region", func(v *VM) { v.Region = "nyc3" }, false},
		{"size", func(v *VM) { v.Size = "s-2vcpu-4gb" }, false},
		{"created at", func(v *VM) { v.CreatedAt = v.CreatedAt.Add(time.Second) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := base, base
			tt.change(&b)
			if got := sameCloudView(&a, &b); got != tt.same {
				t.Errorf("sameCloudView after changing %s = %v, want %v", tt.name, got, tt.same)
			}
		})
	}
}
