package tasks_test

import (
	"strings"
	"testing"

	"github.com/cicf/cicf-bot/tasks"
)

// Names the class domain or the command language already gives a meaning
// are refused with the reason; names that merely contain them are fine.
func TestValidateName_reserved(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string // part of the reason; "" for a name that is fine
	}{
		{"www", "host name"},
		{"mail", "host name"},
		{"ns1", "host name"},
		{"ns4", "host name"},
		{"smtp", "host name"},
		{"mx", "host name"},
		{"ftp", "host name"},
		{"api", "host name"},
		{"admin", "host name"},
		{"all", "command word"},
		{"on", "command word"},
		{"off", "command word"},
		{"list", "command word"},
		{"add", "command word"},
		{"remove", "command word"},
		{"help", "command word"},
		{"destroy", "command word"},
		// These never pass the label rule; pinned so the rule cannot loosen unseen.
		{"@", "not a valid name"},
		{"_dmarc", "not a valid name"},
		{"_acme-challenge", "not a valid name"},
		{"*", "not a valid name"},
		// Containing a reserved word is fine.
		{"www2", ""},
		{"alli", ""},
		{"ns5x", ""},
		{"mailer", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tasks.ValidateName(tt.name)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateName(%q) = %v, want nil", tt.name, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateName(%q) = nil, want an error containing %q", tt.name, tt.wantErr)
			}
			if code := tasks.ErrorCode(err); code != tasks.EINVALID {
				t.Errorf("ErrorCode(ValidateName(%q)) = %q, want %q", tt.name, code, tasks.EINVALID)
			}
			if msg := tasks.ErrorMessage(err); !strings.Contains(msg, tt.wantErr) {
				t.Errorf("ErrorMessage(ValidateName(%q)) = %q, want it to contain %q", tt.name, msg, tt.wantErr)
			}
		})
	}
}

// Invisible direction and zero-width characters in a roster field are
// refused, naming the character, so the roster list cannot lie.
func TestStudent_Validate_invisible(t *testing.T) {
	key := newKeys(t).ed25519
	for _, r := range []rune{0x202A, 0x202E, 0x2066, 0x2069, 0x200B, 0x200D, 0xFEFF} {
		for _, s := range []tasks.Student{
			{Name: "emma", SlackID: "U0EMMA001", Email: "em" + string(r) + "ma@example.org"},
			{Name: "emma", SlackID: "U0EMMA001", PublicKey: key + " emma" + string(r) + "@laptop"},
			{Name: "em" + string(r) + "ma", SlackID: "U0EMMA001"},
		} {
			err := s.Validate()
			if err == nil {
				t.Errorf("Validate(%+q) = nil, want EINVALID for %U", s, r)
				continue
			}
			if s.Name == "emma" && !strings.Contains(tasks.ErrorMessage(err), "invisible character") {
				t.Errorf("ErrorMessage(Validate(%+q)) = %q, want it to name the invisible character", s, tasks.ErrorMessage(err))
			}
		}
	}
}
