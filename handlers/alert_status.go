package handlers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// cardOrder is the order of the checks on a status card.
var cardOrder = []string{tasks.CheckSSH, tasks.CheckHostKey, tasks.CheckHTTPS, tasks.CheckCert, tasks.CheckFirewall, tasks.CheckResources}

// checksCard returns the status card's lines about checks and alerts of
// name, read from the store only (the checks run on their schedule):
// "Checked 2m ago: SSH ✓ HTTPS ✓ ports ✓ CPU 3%", then its open alerts.
// It returns "" when alerts are not set up or nothing was checked yet.
func (r *Router) checksCard(ctx context.Context, name string) (string, error) {
	if r.alerts.Service == nil {
		return "", nil
	}
	rs, err := r.alerts.Service.LatestResults(ctx, name)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if line := checksLine(rs, r.now()); line != "" {
		b.WriteString("\n" + line)
	}
	open, err := r.alerts.Service.OpenAlerts(ctx)
	if err != nil {
		return "", err
	}
	for _, st := range open {
		if st.VM == name {
			b.WriteString("\n:rotating_light: " + r.alerts.render.openLine(st, r.now()))
		}
	}
	return b.String(), nil
}

// checksLine renders the latest results in card order, with the age of the
// newest: "Checked 2m ago: SSH ✓ host key ✓ HTTPS ✓ cert 89 d ports ✓ CPU 3%".
// A failing check shows ✗, one that could not look "?". "" if rs is empty.
func checksLine(rs []tasks.Result, now time.Time) string {
	by := map[string]tasks.Result{}
	var newest time.Time
	for _, r := range rs {
		by[r.Check] = r
		if r.At.After(newest) {
			newest = r.At
		}
	}
	var parts []string
	for _, c := range cardOrder {
		r, ok := by[c]
		if !ok {
			continue
		}
		mark := statusMark(r.Status)
		switch {
		case c == tasks.CheckCert && r.Status == tasks.CheckOK:
			parts = append(parts, fmt.Sprintf("cert %.0f d", r.Value))
		case c == tasks.CheckFirewall:
			parts = append(parts, "ports "+mark)
		case c == tasks.CheckResources && r.Status != tasks.CheckUnknown:
			parts = append(parts, fmt.Sprintf("CPU %.0f%%", r.Value))
			if r.Status == tasks.CheckFail {
				parts[len(parts)-1] += " ✗"
			}
		default:
			parts = append(parts, checkLabel(c)+" "+mark)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("Checked %s ago: %s", age(now.Sub(newest)), strings.Join(parts, " "))
}
