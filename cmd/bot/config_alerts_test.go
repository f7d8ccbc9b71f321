package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

func TestLoadConfigAlertsDefaultsWhenAbsent(t *testing.T) {
	cfg, err := LoadConfig(envMap(map[string]string{"CICF_CONFIG": writeConfig(t, "domain = \"a.b\"\n")}))
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if got, want := cfg.Alerts, tasks.DefaultAlertConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("Alerts = %+v, want the defaults %+v", got, want)
	}
	if got := cfg.Location(); got != time.UTC {
		t.Errorf("Location() = %v, want UTC", got)
	}
}

// TestLoadConfigAlertsTable reads the exact file of SPEC §7 with every value
// changed from its default, so a key decoded into the wrong field shows.
func TestLoadConfigAlertsTable(t *testing.T) {
	file := `time_zone = "America/Chicago"
[alerts]
uptime = "@every 3s"
firewall = "*/5 * * * * *"
resources = "@every 7s"
digest = "0 9 * * 1-5"
fire_after = 4
resolve_after = 5
remind_every = "2h"
cpu_percent = 75.5
cpu_for = "90s"
allowed_ports = [22, 443]
`
	cfg, err := LoadConfig(envMap(map[string]string{"CICF_CONFIG": writeConfig(t, file)}))
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	want := tasks.AlertConfig{
		Uptime: "@every 3s", Firewall: "*/5 * * * * *", Resources: "@every 7s", Digest: "0 9 * * 1-5",
		FireAfter: 4, ResolveAfter: 5, RemindEvery: 2 * time.Hour, CPUPercent: 75.5, CPUFor: 90 * time.Second,
		AllowedPorts: []int{22, 443},
	}
	if !reflect.DeepEqual(cfg.Alerts, want) {
		t.Errorf("Alerts = %+v, want %+v", cfg.Alerts, want)
	}
	if got := cfg.Location().String(); got != "America/Chicago" {
		t.Errorf("Location() = %q, want America/Chicago", got)
	}
}

// TestLoadConfigAlertsPartial: a file setting one key keeps the others'
// defaults.
func TestLoadConfigAlertsPartial(t *testing.T) {
	cfg, err := LoadConfig(envMap(map[string]string{"CICF_CONFIG": writeConfig(t, "[alerts]\nfire_after = 5\n")}))
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	want := tasks.DefaultAlertConfig()
	want.FireAfter = 5
	if !reflect.DeepEqual(cfg.Alerts, want) {
		t.Errorf("Alerts = %+v, want %+v", cfg.Alerts, want)
	}
}

func TestLoadConfigAlertsErrorsNameTheKey(t *testing.T) {
	tests := []struct{ file, want string }{
		{"[alerts]\nuptime = \"every minute\"\n", "alerts.uptime"},
		{"[alerts]\nfirewall = \"61 * * * *\"\n", "alerts.firewall"},
		{"[alerts]\nresources = \"\"\n", "alerts.resources"},
		{"[alerts]\ndigest = \"8am\"\n", "alerts.digest"},
		{"[alerts]\nfire_after = 0\n", "alerts.fire_after"},
		{"[alerts]\nresolve_after = -1\n", "alerts.resolve_after"},
		{"[alerts]\nremind_every = \"10s\"\n", "alerts.remind_every"},
		{"[alerts]\nremind_every = 4\n", "alerts.remind_every"},
		{"[alerts]\nremind_every = \"four hours\"\n", "cicf-bot.toml"},
		{"[alerts]\ncpu_percent = 101\n", "alerts.cpu_percent"},
		{"[alerts]\ncpu_for = 600\n", "alerts.cpu_for"},
		{"[alerts]\ncpu_for = \"-1m\"\n", "alerts.cpu_for"},
		{"[alerts]\nallowed_ports = [22, 70000]\n", "alerts.allowed_ports"},
		{"[alerts]\nallowed_ports = \"22\"\n", "cicf-bot.toml"},
		{"[alerts]\nfire_afterr = 3\n", `unknown key "alerts.fire_afterr"`},
		{"time_zone = \"Mars/Olympus\"\n", "time_zone"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := LoadConfig(envMap(map[string]string{"CICF_CONFIG": writeConfig(t, tt.file)}))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadConfig(%q) error = %v, want it to name %q", tt.file, err, tt.want)
			}
			if _, ok := err.(*configError); !ok {
				t.Errorf("error %T, want *configError (exit 2)", err)
			}
		})
	}
}
