package store_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

func TestAuditLog(t *testing.T) {
	c := newClock(testNow)
	db := MustOpenDBAt(t, filepath.Join(t.TempDir(), "cicf-bot.db"), c.Now)
	l := store.NewAuditLog(db)

	explicit := testNow.Add(-time.Hour) // recorded late: sorts before the others
	entries := []*tasks.AuditEntry{
		{At: explicit, UserID: "UEMMA", Role: tasks.RoleStudent, Verb: "key", Args: "ssh-ed25519 …", Outcome: "ok", Duration: 1500 * time.Millisecond},
		{UserID: "UTEACH", Role: tasks.RoleInstructor, Verb: "reset", Args: "emma", Outcome: tasks.ECONFLICT, Duration: 20 * time.Millisecond},
		{UserID: "console", Role: tasks.RoleInstructor, Verb: "status", Args: "all", Outcome: "ok"},
		{UserID: "UNOBODY", Role: tasks.RoleNone, Verb: "provision", Args: "all", Outcome: tasks.EFORBIDDEN, Duration: time.Millisecond},
	}
	// Record the explicit one last, so newest-first means by At, not by ID.
	order := []int{1, 2, 3, 0}
	for _, i := range order {
		c.Advance(time.Second)
		e := entries[i]
		if err := l.RecordAudit(t.Context(), e); err != nil {
			t.Fatalf("RecordAudit(%q) = %v", e.Verb, err)
		}
		if e.ID == 0 {
			t.Errorf("RecordAudit(%q) left ID 0", e.Verb)
		}
	}
	if want := testNow.Add(time.Second); !entries[1].At.Equal(want) {
		t.Errorf("RecordAudit with zero At set At = %v, want %v", entries[1].At, want)
	}
	if !entries[0].At.Equal(explicit) {
		t.Errorf("RecordAudit with At set changed it to %v, want %v", entries[0].At, explicit)
	}

	newestFirst := []*tasks.AuditEntry{entries[3], entries[2], entries[1], entries[0]}
	for _, tc := range []struct {
		limit int
		want  []*tasks.AuditEntry
	}{
		{0, nil},
		{-1, nil},
		{2, newestFirst[:2]},
		{4, newestFirst},
		{100, newestFirst},
	} {
		t.Run(fmt.Sprintf("limit %d", tc.limit), func(t *testing.T) {
			got, err := l.ListAudit(t.Context(), tc.limit)
			if err != nil {
				t.Fatalf("ListAudit(%d) = %v", tc.limit, err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ListAudit(%d) has %d entries, want %d", tc.limit, len(got), len(tc.want))
			}
			for i := range got {
				g, w := *got[i], *tc.want[i]
				if !g.At.Equal(w.At) {
					t.Errorf("ListAudit(%d)[%d].At = %v, want %v", tc.limit, i, g.At, w.At)
				}
				g.At, w.At = time.Time{}, time.Time{}
				if g != w {
					t.Errorf("ListAudit(%d)[%d] = %+v, want %+v", tc.limit, i, g, w)
				}
			}
		})
	}
}
