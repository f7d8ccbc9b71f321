package handlers

import (
	"testing"

	"github.com/cicf/cicf-bot/tasks"
)

// Every verb the router knows, and every word with a meaning in arguments,
// is reserved in tasks: registering a new verb without reserving it fails
// here, before a student can be named after it.
func TestEveryVerbIsReserved(t *testing.T) {
	r := NewRouter(RouterDeps{Fleet: &tasks.Fleet{}})
	if len(r.cmds) == 0 {
		t.Fatal("NewRouter registered no verbs")
	}
	words := []string{"all", "on", "off", "list", "add", "remove", "rm", "delete"}
	for v := range r.cmds {
		words = append(words, v)
	}
	for _, w := range words {
		if _, ok := tasks.ReservedName(w); !ok {
			t.Errorf("%q is a command word but tasks.ReservedName(%q) = false: add it to tasks.reservedNames", w, w)
		}
		if err := tasks.ValidateName(w); tasks.ErrorCode(err) != tasks.EINVALID {
			t.Errorf("ValidateName(%q) = %v, want EINVALID", w, err)
		}
	}
}
