package tasks_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

func TestAlertConfigValidate(t *testing.T) {
	if err := tasks.DefaultAlertConfig().Validate(); err != nil {
		t.Fatalf("defaults: Validate() = %v", err)
	}
	if err := (tasks.AlertConfig{Uptime: "@every 3s"}).WithDefaults().Validate(); err != nil {
		t.Errorf("@every 3s: Validate() = %v", err)
	}
	tests := []struct {
		name    string
		change  func(*tasks.AlertConfig)
		wantKey string
	}{
		{"bad uptime spec", func(c *tasks.AlertConfig) { c.Uptime = "every minute" }, "alerts.uptime"},
		{"bad digest spec", func(c *tasks.AlertConfig) { c.Digest = "0 25 * * *" }, "alerts.digest"},
		{"fire_after 0", func(c *tasks.AlertConfig) { c.FireAfter = -1 }, "alerts.fire_after"},
		{"resolve_after 0", func(c *tasks.AlertConfig) { c.ResolveAfter = -1 }, "alerts.resolve_after"},
		{"remind_every too short", func(c *tasks.AlertConfig) { c.RemindEvery = time.Second }, "alerts.remind_every"},
		{"cpu_percent over 100", func(c *tasks.AlertConfig) { c.CPUPercent = 150 }, "alerts.cpu_percent"},
		{"negative cpu_for", func(c *tasks.AlertConfig) { c.CPUFor = -time.Minute }, "alerts.cpu_for"},
		{"port out of range", func(c *tasks.AlertConfig) { c.AllowedPorts = []int{22, 70000} }, "alerts.allowed_ports"},
		{"no SSH among the allowed ports", func(c *tasks.AlertConfig) { c.AllowedPorts = []int{80, 443} }, "alerts.allowed_ports"},
		{"an empty list", func(c *tasks.AlertConfig) { c.AllowedPorts = []int{} }, "alerts.allowed_ports"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tasks.DefaultAlertConfig()
			tt.change(&c)
			err := c.Validate()
			if tasks.ErrorCode(err) != tasks.EINVALID || !strings.Contains(tasks.ErrorMessage(err), tt.wantKey) {
				t.Errorf("Validate() = %v, want EINVALID naming %s", err, tt.wantKey)
			}
		})
	}
}
