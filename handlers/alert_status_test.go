package handlers_test

import (
	"strings"
	"testing"
	"time"
)

// TestStatusCardShowsChecks: the card reads the latest results and open
// alerts from the store; status itself runs no check.
func TestStatusCardShowsChecks(t *testing.T) {
	env := newTestEnv(t)
	withChecks(t, env)
	if got := env.run(t, instructorID, "status emma"); strings.Contains(got, "Checked") {
		t.Errorf("status before any check = %q, want no checks line", got)
	}
	env.mustRun(t, instructorID, "check emma", "1 of 6 failing")
	env.advance(2 * time.Minute)
	got := env.run(t, emmaID, "status")
	for _, want := range []string{
		"Checked 2m ago: SSH ✓ host key ✓ HTTPS ✓ cert 89 d ports ✗ CPU 3%",
		":rotating_light: *emma.cicf.cloud* firewall since Wed 12:00 UTC",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("emma's status = %q, want it to contain %q", got, want)
		}
	}
	if got := env.run(t, instructorID, "status dylan"); strings.Contains(got, "Checked") || strings.Contains(got, "rotating_light") {
		t.Errorf("dylan's status = %q, want none of emma's checks or alerts", got)
	}
}
