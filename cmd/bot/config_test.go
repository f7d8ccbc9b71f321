package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cicf-bot.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigDefaultsFromEnvironmentAlone(t *testing.T) {
	t.Chdir(t.TempDir()) // no ./cicf-bot.toml here
	cfg, err := LoadConfig(envMap(map[string]string{
		"SLACK_APP_TOKEN": "xapp-1-abcdefgh", "SLACK_BOT_TOKEN": "xoxb-1-abcdefgh", "DIGITALOCEAN_TOKEN": "dop_v1_abcdefgh",
		"CICF_INSTRUCTORS": "U01AAA, U02BBB", "CICF_DB": "/tmp/x.db", "SLACK_API_URL": "http://127.0.0.1:9/api",
	}))
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if err := cfg.requireTokens(true, true); err != nil {
		t.Fatalf("requireTokens: %v", err)
	}
	if got, want := strings.Join(cfg.Instructors, ","), "U01AAA,U02BBB"; got != want {
		t.Errorf("Instructors = %q, want %q", got, want)
	}
	if cfg.DB != "/tmp/x.db" || cfg.Domain != "cicf.cloud" || cfg.Image != "debian-12-x64" || !cfg.StudentsMayReset {
		t.Errorf("unexpected config %+v", cfg)
	}
	if cfg.SlackAPIURL != "http://127.0.0.1:9/api/" {
		t.Errorf("SlackAPIURL = %q, want a trailing slash added", cfg.SlackAPIURL)
	}
}

func TestLoadConfigFile(t *testing.T) {
	p := writeConfig(t, "domain = \"lab.example.edu\"\ninstructors = [\"U0INSTR\"]\nstudents_may_reset = false\n")
	cfg, err := LoadConfig(envMap(map[string]string{"CICF_CONFIG": p, "CICF_INSTRUCTORS": "U0OTHER"}))
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if cfg.Domain != "lab.example.edu" || cfg.StudentsMayReset || len(cfg.Instructors) != 2 {
		t.Errorf("config = %+v", cfg)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name, file string
		env        map[string]string
		want       string
	}{
		{"unknown key", "domian = \"x.y\"\n", nil, `unknown key "domian"`},
		{"syntax", "domain = \n", nil, "cicf-bot.toml:"},
		{"wrong type", "instructors = \"U0A\"\n", nil, "cicf-bot.toml"},
		{"bad instructor", "", map[string]string{"CICF_INSTRUCTORS": "emma"}, "CICF_INSTRUCTORS"},
		{"bad channel", "", map[string]string{"CICF_CHANNEL": "#general"}, "CICF_CHANNEL"},
		{"bad url", "", map[string]string{"SLACK_API_URL": "slack.com"}, "SLACK_API_URL"},
		{"bad level", "log_level = \"loud\"\n", nil, "log_level"},
		{"missing file", "-", map[string]string{"CICF_CONFIG": "/nonexistent/cicf.toml"}, "CICF_CONFIG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = v
			}
			if tt.file != "-" {
				if _, ok := env["CICF_CONFIG"]; !ok {
					env["CICF_CONFIG"] = writeConfig(t, tt.file)
				}
			}
			_, err := LoadConfig(envMap(env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadConfig error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRequireTokens(t *testing.T) {
	tests := []struct {
		name           string
		app, bot, do   string
		slack, doNeeds bool
		want           string
	}{
		{"all good", "xapp-1-abcdefgh", "xoxb-1-abcdefgh", "dop_v1_abcdefgh", true, true, ""},
		{"missing app", "", "xoxb-1-abcdefgh", "dop_v1_abcdefgh", true, true, "SLACK_APP_TOKEN is not set"},
		{"bot in app slot", "xoxb-1-abcdefgh", "xoxb-1-abcdefgh", "dop_v1_abcdefgh", true, true, "SLACK_APP_TOKEN is malformed"},
		{"missing bot", "xapp-1-abcdefgh", "", "dop_v1_abcdefgh", true, true, "SLACK_BOT_TOKEN is not set"},
		{"quoted do", "xapp-1-abcdefgh", "xoxb-1-abcdefgh", "'dop_v1_abcdefgh'", true, true, "DIGITALOCEAN_TOKEN is malformed"},
		{"missing do", "xapp-1-abcdefgh", "xoxb-1-abcdefgh", "", true, true, "DIGITALOCEAN_TOKEN is not set"},
		{"console needs only do", "", "", "dop_v1_abcdefgh", false, true, ""},
		{"demo needs none", "", "", "", false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{SlackAppToken: tt.app, SlackBotToken: tt.bot, DOToken: tt.do}
			err := c.requireTokens(tt.slack, tt.doNeeds)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("requireTokens = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("requireTokens = %v, want %q", err, tt.want)
			}
			for _, secret := range []string{tt.app, tt.bot, tt.do} {
				if secret != "" && strings.Contains(err.Error(), secret) {
					t.Errorf("error %q repeats a token", err)
				}
			}
		})
	}
}

// FuzzDecodeConfig feeds arbitrary files to the config decoder: it must
// return a config error or a valid config, never panic.
func FuzzDecodeConfig(f *testing.F) {
	for _, s := range []string{"domain = \"a.b\"", "instructors = [\"U1\"]", "[x]\ny=1", "domain = \n", "db = \"\"", "log_level = \"debug\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cfg := DefaultConfig()
		if err := decodeConfig(&cfg, "f.toml", body); err != nil {
			if _, ok := err.(*configError); !ok {
				t.Fatalf("decodeConfig error %T, want *configError", err)
			}
			return
		}
		_ = cfg.validate()
	})
}
