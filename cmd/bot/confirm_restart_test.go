package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cicf/cicf-bot/internal/dosim"
)

// A confirmation is stored: the bot asked in one life is confirmed in the
// next, once.
func TestConfirmAfterARestart(t *testing.T) {
	sim := dosim.New(dosim.Options{Token: "dop_v1_confirm_test"})
	t.Cleanup(sim.Close)
	sim.AddDomain("cicf.cloud")
	sim.AddDroplet(dosim.DropletSpec{Name: "emma.cicf.cloud", Tags: []string{"cicf"}, IPv4: "198.18.1.2"})
	dir := t.TempDir()
	console := func(script string) string {
		t.Helper()
		cmd := exec.Command(botBinary, "console")
		cmd.Dir = dir
		cmd.Env = []string{"CICF_DB=" + filepath.Join(dir, "c.db"), "DIGITALOCEAN_TOKEN=dop_v1_confirm_test", "DIGITALOCEAN_API_URL=" + sim.URL()}
		cmd.Stdin = strings.NewReader(script)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("console: %v\n%s", err, out)
		}
		return string(out)
	}
	first := console("roster add emma U0EMMA001\ndestroy emma\n")
	m := regexp.MustCompile("`confirm ([0-9a-f]+)`").FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("first life offers no confirmation:\n%s", first)
	}
	second := console("confirm " + m[1] + "\nconfirm " + m[1] + "\n")
	if !strings.Contains(second, "Destroying `emma`") || !strings.Contains(second, "no longer valid") {
		t.Fatalf("second life =\n%s\nwant the destroy once, then the confirmation gone", second)
	}
	if n := len(sim.Droplets()); n != 0 {
		t.Errorf("%d droplets after the confirmed destroy, want 0", n)
	}
}
