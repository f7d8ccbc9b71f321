package handlers_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cicf/cicf-bot/handlers"
)

// Defect 11: a console line over 64 KiB is refused, and the console goes on
// with the next line; a line of exactly 64 KiB still runs.
func TestConsoleRefusesAnOverlongLineAndGoesOn(t *testing.T) {
	env := classEnv(t)
	pad := func(cmd string, n int) string { return cmd + strings.Repeat(" ", n-len(cmd)) }
	in := strings.Join([]string{
		pad("roster add yan U0YAN0001", handlers.MaxConsoleLine),   // at the limit: runs
		pad("roster add xia U0XIA0001", handlers.MaxConsoleLine+1), // over it: refused
		strings.Repeat("x", 3*handlers.MaxConsoleLine),
		"roster add zed U0ZED0001",
	}, "\n") + "\n"
	var out bytes.Buffer
	c := &handlers.Console{Router: env.router, UserID: instructorID, In: strings.NewReader(in), Out: &out}
	if err := c.Run(context.Background()); err != nil {
		t.Fatalf("console ended with %v", err)
	}
	for name, want := range map[string]bool{"yan": true, "xia": false, "zed": true} {
		_, err := env.deps.Students.FindStudent(context.Background(), name)
		if got := err == nil; got != want {
			t.Errorf("student %s on the roster = %v (%v), want %v", name, got, err, want)
		}
	}
	if n := strings.Count(out.String(), "over 64 KiB"); n != 2 {
		t.Errorf("%d refusals of an overlong line, want 2:\n%.400s", n, out.String())
	}
}
