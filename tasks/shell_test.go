package tasks_test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/cicf/cicf-bot/tasks"
)

var shellCases = []struct {
	in   string
	want string
}{
	{"", "''"},
	{"emma", "emma"},
	{"/home/emma/.ssh/authorized_keys", "/home/emma/.ssh/authorized_keys"},
	{"user@host:22,a+b=c_d", "user@host:22,a+b=c_d"},
	{"-rf", "-rf"}, // a literal word; keeping it from being an option is the command's job (--)
	{"--", "--"},
	{"a b", "'a b'"},
	{"  ", "'  '"},
	{"\t", "'\t'"},
	{"it's", `'it'"'"'s'`},
	{"'", `''"'"''`},
	{"''", `''"'"''"'"''`},
	{`"quoted"`, `'"quoted"'`},
	{`back\slash`, `'back\slash'`},
	{"$(id)", "'$(id)'"},
	{"${HOME}", "'${HOME}'"},
	{"$HOME", "'$HOME'"},
	{"`id`", "'`id`'"},
	{"a;rm -rf /", "'a;rm -rf /'"},
	{"a&&b||c|d", "'a&&b||c|d'"},
	{"x>y<z", "'x>y<z'"},
	{"line1\nline2", "'line1\nline2'"},
	{"\r\n", "'\r\n'"},
	{"~", "'~'"},
	{"~emma/x", "'~emma/x'"},
	{"*", "'*'"},
	{"?[a-z]", "'?[a-z]'"},
	{"{a,b}", "'{a,b}'"},
	{"#not a comment", "'#not a comment'"},
	{"!", "'!'"},
	{"%s%n", "'%s%n'"},
	{"émma", "'émma'"},
	{"日本語", "'日本語'"},
	{"🔑", "'🔑'"},
	{"\u202eevil", "'\u202eevil'"},
	{"\x1b[2J", "'\x1b[2J'"},
	{"\xff\xfe", "'\xff\xfe'"},
	{"\\'\"$`\n", `'\'"'"'"$` + "`\n'"},
}

func TestShellQuote(t *testing.T) {
	for _, tt := range shellCases {
		if got := tasks.ShellQuote(tt.in); got != tt.want {
			t.Errorf("ShellQuote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestShellQuote_roundTrip(t *testing.T) {
	for _, tt := range shellCases {
		t.Run(tt.in, func(t *testing.T) {
			if got := viaShell(t, tt.in); got != tt.in {
				t.Errorf("sh -c %q printed %q, want %q", "printf %s "+tasks.ShellQuote(tt.in), got, tt.in)
			}
		})
	}
}

func FuzzShellQuote(f *testing.F) {
	for _, tt := range shellCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		in = strings.ReplaceAll(in, "\x00", "") // argv cannot carry NUL
		if got := viaShell(t, in); got != in {
			t.Errorf("sh -c %q printed %q, want %q", "printf %s "+tasks.ShellQuote(in), got, in)
		}
	})
}

// viaShell has a real POSIX shell parse ShellQuote(s) as printf's argument
// and returns what printf printed.
func viaShell(tb testing.TB, s string) string {
	tb.Helper()
	cmd := exec.Command("/bin/sh", "-c", "printf %s "+tasks.ShellQuote(s))
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=/nonexistent"}
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			stderr = string(ee.Stderr)
		}
		tb.Fatalf("sh -c %q: %v: %s", "printf %s "+tasks.ShellQuote(s), err, stderr)
	}
	return string(out)
}
