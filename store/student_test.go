package store_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

const (
	emmaKey  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJFc1Hp/eTwad+0eIDzAUt+RTRd4bXXSKRw6yl8z12wu emma@laptop"
	otherKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGsrGEOXLAwr7sjZWPrfnCuUeBK1jk49JkC5yX7u/rIr"
)

// diffStudent returns "" if got and want are the same entry, else what differs.
func diffStudent(got, want *tasks.Student) string {
	var d []string
	if got.Name != want.Name || got.SlackID != want.SlackID || got.Email != want.Email || got.PublicKey != want.PublicKey {
		d = append(d, fmt.Sprintf("got {%q %q %q %q}, want {%q %q %q %q}",
			got.Name, got.SlackID, got.Email, got.PublicKey, want.Name, want.SlackID, want.Email, want.PublicKey))
	}
	d = append(d, diffTimes(
		timeField{"CreatedAt", got.CreatedAt, want.CreatedAt},
		timeField{"UpdatedAt", got.UpdatedAt, want.UpdatedAt},
	)...)
	return strings.Join(d, "; ")
}

func TestStudentService_CreateStudent(t *testing.T) {
	db := MustOpenDB(t)
	s := store.NewStudentService(db)
	mustCreateStudent(t, db, "emma")

	for _, tc := range []struct {
		name    string
		in      tasks.Student
		code    string
		wantKey string // the normalized key, when code is ""
		msg     string // part of the message, when code is not ""
	}{
		{name: "ok", in: tasks.Student{Name: "noah", SlackID: "UNOAH", Email: "noah@example.org", PublicKey: "  " + emmaKey + "\n"}, wantKey: emmaKey},
		{name: "no key", in: tasks.Student{Name: "olivia", SlackID: "UOLIVIA"}},
		{name: "name taken", in: tasks.Student{Name: "emma", SlackID: "UOTHER"}, code: tasks.ECONFLICT, msg: `named "emma"`},
		{name: "slack user taken", in: tasks.Student{Name: "emma2", SlackID: "UEMMA"}, code: tasks.ECONFLICT, msg: `<@UEMMA> is already on the roster as "emma"`},
		{name: "both taken", in: tasks.Student{Name: "emma", SlackID: "UEMMA"}, code: tasks.ECONFLICT, msg: `named "emma"`},
		{name: "bad name", in: tasks.Student{Name: "Emma", SlackID: "UEMMA3"}, code: tasks.EINVALID},
		{name: "bad slack id", in: tasks.Student{Name: "liam", SlackID: "emma"}, code: tasks.EINVALID},
		{name: "bad email", in: tasks.Student{Name: "liam", SlackID: "ULIAM", Email: "liam at home"}, code: tasks.EINVALID},
		{name: "private key", in: tasks.Student{Name: "liam", SlackID: "ULIAM", PublicKey: "-----BEGIN OPENSSH PRIVATE KEY-----"}, code: tasks.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			err := s.CreateStudent(t.Context(), &in)
			if got := tasks.ErrorCode(err); got != tc.code {
				t.Fatalf("CreateStudent(%q) = %v, want code %q", tc.in.Name, err, tc.code)
			}
			if tc.code != "" {
				if got := tasks.ErrorMessage(err); !strings.Contains(got, tc.msg) {
					t.Errorf("CreateStudent(%q) message = %q, want it to contain %q", tc.in.Name, got, tc.msg)
				}
				return
			}
			want := tc.in
			want.PublicKey, want.CreatedAt, want.UpdatedAt = tc.wantKey, testNow, testNow
			if d := diffStudent(&in, &want); d != "" {
				t.Errorf("CreateStudent(%q) left %s", tc.in.Name, d)
			}
			got, err := s.FindStudent(t.Context(), tc.in.Name)
			if err != nil {
				t.Fatalf("FindStudent(%q) = %v", tc.in.Name, err)
			}
			if d := diffStudent(got, &want); d != "" {
				t.Errorf("FindStudent(%q): %s", tc.in.Name, d)
			}
		})
	}
}

func TestStudentService_find(t *testing.T) {
	db := MustOpenDB(t)
	s := store.NewStudentService(db)
	emma := mustCreateStudent(t, db, "emma")

	for _, tc := range []struct {
		name string
		find func() (*tasks.Student, error)
		want *tasks.Student
		code string
	}{
		{"by name", func() (*tasks.Student, error) { return s.FindStudent(t.Context(), "emma") }, emma, ""},
		{"by name missing", func() (*tasks.Student, error) { return s.FindStudent(t.Context(), "noah") }, nil, tasks.ENOTFOUND},
		{"by slack id", func() (*tasks.Student, error) { return s.FindStudentBySlackID(t.Context(), "UEMMA") }, emma, ""},
		{"by slack id missing", func() (*tasks.Student, error) { return s.FindStudentBySlackID(t.Context(), "UNOAH") }, nil, tasks.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.find()
			if code := tasks.ErrorCode(err); code != tc.code {
				t.Fatalf("find = %v, want code %q", err, tc.code)
			}
			if tc.code != "" {
				if msg := tasks.ErrorMessage(err); !strings.Contains(msg, "/cicf roster list") {
					t.Errorf("find message = %q, want it to name `/cicf roster list`", msg)
				}
				return
			}
			if d := diffStudent(got, tc.want); d != "" {
				t.Errorf("find: %s", d)
			}
		})
	}
}

func TestStudentService_ListStudents(t *testing.T) {
	db := MustOpenDB(t)
	s := store.NewStudentService(db)
	got, err := s.ListStudents(t.Context())
	if err != nil || len(got) != 0 {
		t.Fatalf("ListStudents() on an empty roster = %v, %v; want none", got, err)
	}
	for _, name := range []string{"noah", "emma", "liam"} {
		mustCreateStudent(t, db, name)
	}
	got, err = s.ListStudents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range got {
		names = append(names, st.Name)
	}
	if got, want := strings.Join(names, " "), "emma liam noah"; got != want {
		t.Errorf("ListStudents() = %s, want %s", got, want)
	}
}

func TestStudentService_UpdateStudent(t *testing.T) {
	c := newClock(testNow)
	db := MustOpenDBAt(t, filepath.Join(t.TempDir(), "cicf-bot.db"), c.Now)
	s := store.NewStudentService(db)
	emma := mustCreateStudent(t, db, "emma")
	c.Advance(time.Minute)

	for _, tc := range []struct {
		name string
		in   tasks.Student
		code string
		want tasks.Student // stored afterwards
	}{
		{
			name: "set email and key; slack id stays",
			in:   tasks.Student{Name: "emma", SlackID: "UINTRUDER", Email: "emma@example.org", PublicKey: emmaKey + "\n"},
			want: tasks.Student{Name: "emma", SlackID: "UEMMA", Email: "emma@example.org", PublicKey: emmaKey, CreatedAt: emma.CreatedAt, UpdatedAt: testNow.Add(time.Minute)},
		},
		{
			name: "bad key changes nothing",
			in:   tasks.Student{Name: "emma", Email: "other@example.org", PublicKey: "ssh-ed25519 nope"},
			code: tasks.EINVALID,
			want: tasks.Student{Name: "emma", SlackID: "UEMMA", Email: "emma@example.org", PublicKey: emmaKey, CreatedAt: emma.CreatedAt, UpdatedAt: testNow.Add(time.Minute)},
		},
		{
			name: "clear both",
			in:   tasks.Student{Name: "emma"},
			want: tasks.Student{Name: "emma", SlackID: "UEMMA", CreatedAt: emma.CreatedAt, UpdatedAt: testNow.Add(time.Minute)},
		},
		{name: "missing", in: tasks.Student{Name: "noah", SlackID: "UNOAH"}, code: tasks.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			err := s.UpdateStudent(t.Context(), &in)
			if got := tasks.ErrorCode(err); got != tc.code {
				t.Fatalf("UpdateStudent(%q) = %v, want code %q", tc.in.Name, err, tc.code)
			}
			if tc.code == "" {
				if d := diffStudent(&in, &tc.want); d != "" {
					t.Errorf("UpdateStudent(%q) left %s", tc.in.Name, d)
				}
			}
			if tc.code == tasks.ENOTFOUND {
				return
			}
			got, err := s.FindStudent(t.Context(), tc.in.Name)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffStudent(got, &tc.want); d != "" {
				t.Errorf("FindStudent(%q) after update: %s", tc.in.Name, d)
			}
		})
	}
}

func TestStudentService_DeleteStudent(t *testing.T) {
	db := MustOpenDB(t)
	s, vms := store.NewStudentService(db), store.NewVMService(db)
	mustCreateStudent(t, db, "emma")
	if err := vms.UpsertVM(t.Context(), &tasks.VM{Name: "emma", DropletID: 7}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, student, code string
	}{
		{"present", "emma", ""},
		{"gone", "emma", tasks.ENOTFOUND},
		{"never there", "noah", tasks.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.DeleteStudent(t.Context(), tc.student)
			if got := tasks.ErrorCode(err); got != tc.code {
				t.Fatalf("DeleteStudent(%q) = %v, want code %q", tc.student, err, tc.code)
			}
			if _, err := s.FindStudent(t.Context(), tc.student); tasks.ErrorCode(err) != tasks.ENOTFOUND {
				t.Errorf("FindStudent(%q) after delete = %v, want ENOTFOUND", tc.student, err)
			}
			if _, err := vms.FindVM(t.Context(), tc.student); tasks.ErrorCode(err) != tasks.ENOTFOUND {
				t.Errorf("FindVM(%q) after delete = %v, want ENOTFOUND", tc.student, err)
			}
		})
	}
}

// A student whose VM has a running run stays: the delete is one statement,
// so a run that started after the caller's check still keeps the row.
func TestStudentService_DeleteStudentDuringRun(t *testing.T) {
	db := MustOpenDB(t)
	s, runs := store.NewStudentService(db), store.NewRunService(db)
	mustCreateStudent(t, db, "emma")
	run := &tasks.Run{VM: "emma", Kind: tasks.RunProvision, Steps: []string{"Create"}}
	if err := runs.CreateRun(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStudent(t.Context(), "emma"); tasks.ErrorCode(err) != tasks.ECONFLICT {
		t.Fatalf("DeleteStudent during run #%d = %v, want ECONFLICT", run.ID, err)
	}
	if _, err := s.FindStudent(t.Context(), "emma"); err != nil {
		t.Fatalf("FindStudent after a refused delete = %v, want the student kept", err)
	}
	run.State = tasks.RunDone
	if err := runs.UpdateRun(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStudent(t.Context(), "emma"); err != nil {
		t.Fatalf("DeleteStudent after the run finished = %v, want nil", err)
	}
}
