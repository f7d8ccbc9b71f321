package tasks

import (
	"time"

	"github.com/robfig/cron/v3"
)

// AlertConfig holds the [alerts] block of the bot's configuration, with the
// same keys as the TOML file (SPEC §7). Durations are Go duration strings in
// the file ("4h", "10m"); cmd/bot decodes them into time.Duration.
type AlertConfig struct {
	Uptime       string        `toml:"uptime"`        // cron spec of the uptime sweep
	Firewall     string        `toml:"firewall"`      // cron spec of the firewall audit
	Resources    string        `toml:"resources"`     // cron spec of the resources sweep
	Digest       string        `toml:"digest"`        // cron spec of the daily digest
	FireAfter    int           `toml:"fire_after"`    // consecutive failures before an alert fires
	ResolveAfter int           `toml:"resolve_after"` // consecutive successes before it resolves
	RemindEvery  time.Duration `toml:"remind_every"`  // least time between reminders of one incident
	CPUPercent   float64       `toml:"cpu_percent"`   // CPU use (0–100) that counts as high
	CPUFor       time.Duration `toml:"cpu_for"`       // how long high CPU must last to fail
	AllowedPorts []int         `toml:"allowed_ports"` // ports that may be open to the internet
}

// DefaultAlertConfig returns the defaults of SPEC §7.
func DefaultAlertConfig() AlertConfig {
	return AlertConfig{
		Uptime: "@every 1m", Firewall: "@hourly", Resources: "@every 5m", Digest: "0 8 * * *",
		FireAfter: 3, ResolveAfter: 2, RemindEvery: 4 * time.Hour,
		CPUPercent: 90, CPUFor: 10 * time.Minute, AllowedPorts: []int{22, 80, 443},
	}
}

// WithDefaults returns c with every zero field set to its default, so that a
// file may set only the keys it changes.
func (c AlertConfig) WithDefaults() AlertConfig {
	d := DefaultAlertConfig()
	set := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	set(&c.Uptime, d.Uptime)
	set(&c.Firewall, d.Firewall)
	set(&c.Resources, d.Resources)
	set(&c.Digest, d.Digest)
	if c.FireAfter == 0 {
		c.FireAfter = d.FireAfter
	}
	if c.ResolveAfter == 0 {
		c.ResolveAfter = d.ResolveAfter
	}
	if c.RemindEvery == 0 {
		c.RemindEvery = d.RemindEvery
	}
	if c.CPUPercent == 0 {
		c.CPUPercent = d.CPUPercent
	}
	if c.CPUFor == 0 {
		c.CPUFor = d.CPUFor
	}
	if c.AllowedPorts == nil {
		c.AllowedPorts = d.AllowedPorts
	}
	return c
}

// cronParser accepts the standard five fields, an optional seconds field
// (tests use "*/3 * * * * *") and descriptors such as "@every 3s".
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Validate returns an EINVALID error naming the first bad key
// ("alerts.uptime", "alerts.fire_after", ...), or nil.
func (c AlertConfig) Validate() error {
	for _, s := range []struct{ key, spec string }{
		{"uptime", c.Uptime}, {"firewall", c.Firewall}, {"resources", c.Resources}, {"digest", c.Digest},
	} {
		if _, err := cronParser.Parse(s.spec); err != nil {
			return Errorf(EINVALID, "alerts.%s = %q is not a cron spec (%v). Try \"@every 1m\" or \"0 8 * * *\".", s.key, s.spec, err)
		}
	}
	switch {
	case c.FireAfter < 1:
		return Errorf(EINVALID, "alerts.fire_after = %d must be 1 or more.", c.FireAfter)
	case c.ResolveAfter < 1:
		return Errorf(EINVALID, "alerts.resolve_after = %d must be 1 or more.", c.ResolveAfter)
	case c.RemindEvery < time.Minute:
		return Errorf(EINVALID, "alerts.remind_every = %s must be at least 1m, e.g. \"4h\".", c.RemindEvery)
	case c.CPUPercent <= 0 || c.CPUPercent > 100:
		return Errorf(EINVALID, "alerts.cpu_percent = %g must be between 1 and 100.", c.CPUPercent)
	case c.CPUFor < 0:
		return Errorf(EINVALID, "alerts.cpu_for = %s must not be negative, e.g. \"10m\".", c.CPUFor)
	}
	for _, p := range c.AllowedPorts {
		if p < 1 || p > 65535 {
			return Errorf(EINVALID, "alerts.allowed_ports holds %d; ports are 1–65535, e.g. [22, 80, 443].", p)
		}
	}
	if !c.portAllowed(22) {
		// The bot itself reaches every VM on 22: without it, every VM would
		// be an exposed-port alert.
		return Errorf(EINVALID, "alerts.allowed_ports must hold 22, the bot's own SSH, e.g. [22, 80, 443].")
	}
	return nil
}

// portAllowed reports whether p is among c.AllowedPorts.
func (c AlertConfig) portAllowed(p int) bool {
	for _, a := range c.AllowedPorts {
		if a == p {
			return true
		}
	}
	return false
}
