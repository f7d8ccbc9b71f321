package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/cicf/cicf-bot/tasks"
)

// Config is everything the bot is told: secrets from the environment only,
// the rest from an optional TOML file with environment overrides. Every
// non-secret setting has a default, so the environment alone is enough.
type Config struct {
	// Secrets: environment only, never written anywhere.
	SlackAppToken string `toml:"-"`
	SlackBotToken string `toml:"-"`
	DOToken       string `toml:"-"`

	SlackAPIURL string   `toml:"slack_api_url"`
	DOAPIURL    string   `toml:"digitalocean_api_url"`
	DB          string   `toml:"db"`
	Channel     string   `toml:"channel"`
	Instructors []string `toml:"instructors"`
	Domain      string   `toml:"domain"`
	Region      string   `toml:"region"`
	Size        string   `toml:"size"`
	Image       string   `toml:"image"`
	Tag         string   `toml:"tag"`
	TimeZone    string   `toml:"time_zone"`
	LogLevel    string   `toml:"log_level"`
	// StudentsMayReset lets students reset their own VM (with confirmation).
	StudentsMayReset bool `toml:"students_may_reset"`
	// SSHKey is the bot's own SSH private key file (0600), created on first
	// run; "" puts it beside the database.
	SSHKey string `toml:"ssh_key"`
	// PollInterval is how often runs check a droplet, SSH or HTTPS while
	// they wait for it.
	PollInterval Duration `toml:"poll_interval"`
	// Alerts is the [alerts] table (SPEC §7): check schedules and thresholds.
	Alerts tasks.AlertConfig `toml:"alerts"`
}

// Duration is a time.Duration written as "5s" or "2m" in the config file.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil || v <= 0 {
		return fmt.Errorf("%q is not a positive duration like \"5s\"", b)
	}
	d.Duration = v
	return nil
}

// DefaultConfig returns the settings used when nothing overrides them.
func DefaultConfig() Config {
	return Config{
		SlackAPIURL:      "https://slack.com/api/",
		DOAPIURL:         "https://api.digitalocean.com/",
		DB:               "./cicf-bot.db",
		Domain:           "cicf.cloud",
		Region:           "nyc3",
		Size:             "s-1vcpu-2gb",
		Image:            "debian-12-x64",
		Tag:              "cicf",
		TimeZone:         "UTC",
		LogLevel:         "info",
		StudentsMayReset: true,
		PollInterval:     Duration{5 * time.Second},
		Alerts:           tasks.DefaultAlertConfig(),
	}
}

// configError is a problem with the configuration: the process exits 2 with
// its message alone.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func configErrorf(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

// LoadConfig reads the file named by CICF_CONFIG (or ./cicf-bot.toml if it
// exists), then applies the environment. getenv is os.Getenv outside tests.
// It returns a *configError naming the key or variable that is wrong.
func LoadConfig(getenv func(string) string) (Config, error) {
	cfg := DefaultConfig()
	path, explicit := getenv("CICF_CONFIG"), true
	if path == "" {
		path, explicit = "./cicf-bot.toml", false
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := decodeConfig(&cfg, path, string(data)); err != nil {
			return cfg, err
		}
	case errors.Is(err, fs.ErrNotExist) && !explicit:
	default:
		return cfg, configErrorf("CICF_CONFIG: cannot read %s: %v", path, errors.Unwrap(err))
	}

	cfg.SlackAppToken = getenv("SLACK_APP_TOKEN")
	cfg.SlackBotToken = getenv("SLACK_BOT_TOKEN")
	cfg.DOToken = getenv("DIGITALOCEAN_TOKEN")
	for env, dst := range map[string]*string{
		"SLACK_API_URL":        &cfg.SlackAPIURL,
		"DIGITALOCEAN_API_URL": &cfg.DOAPIURL,
		"CICF_DB":              &cfg.DB,
		"CICF_CHANNEL":         &cfg.Channel,
	} {
		if v := getenv(env); v != "" {
			*dst = v
		}
	}
	for _, id := range strings.Split(getenv("CICF_INSTRUCTORS"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			cfg.Instructors = append(cfg.Instructors, id)
		}
	}
	return cfg, cfg.validate()
}

func decodeConfig(cfg *Config, path, data string) error {
	md, err := toml.Decode(data, cfg)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return configErrorf("%s:%d: %s", path, perr.Position.Line, perr.Message)
		}
		return configErrorf("%s: %v", path, err)
	}
	if undec := md.Undecoded(); len(undec) > 0 {
		return configErrorf("%s: unknown key %q", path, undec[0].String())
	}
	// The TOML decoder reads an integer duration as nanoseconds: a file
	// saying remind_every = 4 means hours or minutes, never 4ns.
	for _, key := range []string{"remind_every", "cpu_for"} {
		if md.IsDefined("alerts", key) && md.Type("alerts", key) != "String" {
			return configErrorf("%s: alerts.%s must be a duration in quotes, e.g. \"4h\" or \"10m\"", path, key)
		}
	}
	return nil
}

func (c *Config) validate() error {
	for name, u := range map[string]*string{"slack_api_url (SLACK_API_URL)": &c.SlackAPIURL, "digitalocean_api_url (DIGITALOCEAN_API_URL)": &c.DOAPIURL} {
		p, err := url.Parse(*u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return configErrorf("%s: %q is not an http(s) URL", name, *u)
		}
		if !strings.HasSuffix(*u, "/") {
			*u += "/"
		}
	}
	for _, id := range c.Instructors {
		if tasks.ValidateSlackID(id) != nil {
			return configErrorf("instructors (CICF_INSTRUCTORS): %q is not a Slack user ID (like U0123ABCD)", id)
		}
	}
	if c.Channel != "" && !isChannelID(c.Channel) {
		return configErrorf("channel (CICF_CHANNEL): %q is not a Slack channel ID (like C0123ABCD)", c.Channel)
	}
	if c.DB == "" {
		return configErrorf("db (CICF_DB): must not be empty")
	}
	if c.SSHKey == "" {
		c.SSHKey = filepath.Join(filepath.Dir(c.DB), "cicf-bot_ed25519")
	}
	if c.Domain == "" || strings.ContainsAny(c.Domain, " /:") || !strings.Contains(c.Domain, ".") {
		return configErrorf("domain: %q is not a DNS domain", c.Domain)
	}
	for name, v := range map[string]string{"region": c.Region, "size": c.Size, "image": c.Image, "tag": c.Tag} {
		if v == "" || strings.ContainsAny(v, " \t\n") {
			return configErrorf("%s: %q must be a single word", name, v)
		}
	}
	if !tagRE.MatchString(c.Tag) {
		return configErrorf("tag: %q may hold only letters, digits, '_', ':' and '-' (DigitalOcean's rule)", c.Tag)
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		return configErrorf("time_zone: %q is not a time zone (e.g. America/Chicago)", c.TimeZone)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	// Keys the file left out keep their defaults (DefaultConfig set them
	// before decoding), so an explicit fire_after = 0 is refused here rather
	// than silently replaced.
	if err := c.Alerts.Validate(); err != nil {
		return configErrorf("%s", tasks.ErrorMessage(err))
	}
	return nil
}

// Location returns the configured time zone, in which the alert schedules
// (the digest's "0 8 * * *") are read. validate has checked it; UTC if not.
func (c *Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// tagRE is DigitalOcean's rule for tag names.
var tagRE = regexp.MustCompile(`^[A-Za-z0-9_:-]{1,255}$`)

func isChannelID(s string) bool {
	if len(s) < 3 || len(s) > 24 || !strings.ContainsRune("CGD", rune(s[0])) {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, configErrorf("log_level: %q is not one of debug, info, warn, error", s)
	}
	return l, nil
}

// requireTokens checks that the named secrets are set and well formed.
func (c *Config) requireTokens(slackTokens, doToken bool) error {
	type tok struct{ env, val, prefix, hint string }
	var want []tok
	if slackTokens {
		want = append(want,
			tok{"SLACK_APP_TOKEN", c.SlackAppToken, "xapp-", "an app-level token with connections:write"},
			tok{"SLACK_BOT_TOKEN", c.SlackBotToken, "xoxb-", "the bot token from OAuth & Permissions"})
	}
	if doToken {
		want = append(want, tok{"DIGITALOCEAN_TOKEN", c.DOToken, "", "a DigitalOcean API token"})
	}
	for _, t := range want {
		switch {
		case t.val == "":
			return configErrorf("%s is not set: it must hold %s (see README.md).", t.env, t.hint)
		case !strings.HasPrefix(t.val, t.prefix) || strings.ContainsAny(t.val, " \t\r\n\"'") || len(t.val) < len(t.prefix)+8:
			if t.prefix != "" {
				return configErrorf("%s is malformed: it must start with %q and hold %s.", t.env, t.prefix, t.hint)
			}
			return configErrorf("%s is malformed: it must hold %s, with no spaces or quotes.", t.env, t.hint)
		}
	}
	return nil
}
