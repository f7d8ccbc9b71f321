package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGsrGEOXLAwr7sjZWPrfnCuUeBK1jk49JkC5yX7u/rIr root@emma"

// diffVM returns "" if got and want are the same VM, else what differs.
func diffVM(got, want *tasks.VM) string {
	var d []string
	g, w := *got, *want
	g.CreatedAt, g.LastResetAt, g.SeenAt = time.Time{}, time.Time{}, time.Time{}
	w.CreatedAt, w.LastResetAt, w.SeenAt = time.Time{}, time.Time{}, time.Time{}
	if g != w {
		d = append(d, fmt.Sprintf("got %+v, want %+v", g, w))
	}
	d = append(d, diffTimes(
		timeField{"CreatedAt", got.CreatedAt, want.CreatedAt},
		timeField{"LastResetAt", got.LastResetAt, want.LastResetAt},
		timeField{"SeenAt", got.SeenAt, want.SeenAt},
	)...)
	return strings.Join(d, "; ")
}

func TestVMService(t *testing.T) {
	db := MustOpenDB(t)
	s := store.NewVMService(db)
	mustCreateStudent(t, db, "emma")
	mustCreateStudent(t, db, "noah")

	created := time.Date(2026, 2, 1, 9, 0, 0, 1, time.UTC)
	full := &tasks.VM{
		Name: "emma", DropletID: 123456789, Status: "active",
		IPv4: "203.0.113.7", IPv6: "2001:db8::7", Region: "fra1", Size: "s-1vcpu-1gb",
		CreatedAt: created, LastResetAt: created.Add(time.Hour), HostKey: hostKey, SeenAt: testNow,
	}
	// Fleet.sync marks a vanished droplet with an empty status and keeps the rest.
	gone := *full
	gone.Status = ""

	for _, tc := range []struct {
		name string
		in   *tasks.VM
		code string
	}{
		{"insert with zero times", &tasks.VM{Name: "noah", DropletID: 1, Status: "new"}, ""},
		{"insert everything", full, ""},
		{"replace", &gone, ""},
		{"not on the roster", &tasks.VM{Name: "liam", DropletID: 2}, tasks.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.UpsertVM(t.Context(), tc.in)
			if got := tasks.ErrorCode(err); got != tc.code {
				t.Fatalf("UpsertVM(%q) = %v, want code %q", tc.in.Name, err, tc.code)
			}
			got, err := s.FindVM(t.Context(), tc.in.Name)
			if tc.code != "" {
				if tasks.ErrorCode(err) != tasks.ENOTFOUND {
					t.Errorf("FindVM(%q) after failed upsert = %v, want ENOTFOUND", tc.in.Name, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("FindVM(%q) = %v", tc.in.Name, err)
			}
			if d := diffVM(got, tc.in); d != "" {
				t.Errorf("FindVM(%q): %s", tc.in.Name, d)
			}
			if !got.LastResetAt.IsZero() && tc.in.LastResetAt.IsZero() {
				t.Errorf("FindVM(%q).LastResetAt = %v, want zero", tc.in.Name, got.LastResetAt)
			}
		})
	}

	list, err := s.ListVMs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, vm := range list {
		names = append(names, vm.Name)
	}
	if got, want := strings.Join(names, " "), "emma noah"; got != want {
		t.Errorf("ListVMs() = %s, want %s", got, want)
	}

	for _, tc := range []struct {
		name, vm, code string
	}{
		{"present", "emma", ""},
		{"gone", "emma", tasks.ENOTFOUND},
		{"student without vm", "liam", tasks.ENOTFOUND},
	} {
		t.Run("delete "+tc.name, func(t *testing.T) {
			err := s.DeleteVM(t.Context(), tc.vm)
			if got := tasks.ErrorCode(err); got != tc.code {
				t.Fatalf("DeleteVM(%q) = %v, want code %q", tc.vm, err, tc.code)
			}
			if _, err := s.FindVM(t.Context(), tc.vm); tasks.ErrorCode(err) != tasks.ENOTFOUND {
				t.Errorf("FindVM(%q) after delete = %v, want ENOTFOUND", tc.vm, err)
			}
		})
	}
	// Forgetting the VM keeps the student.
	if _, err := store.NewStudentService(db).FindStudent(t.Context(), "emma"); err != nil {
		t.Errorf("FindStudent(%q) after DeleteVM = %v", "emma", err)
	}
}
