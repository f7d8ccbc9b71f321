package handlers

import (
	"context"
	"sort"

	"github.com/cicf/cicf-bot/tasks"
)

// Command is one verb of /cicf: what it takes, who may use it, its help, and
// the function that runs it.
type Command struct {
	Verb     string
	Usages   []Usage  // one per role that may use the verb
	Help     string   // a paragraph for /cicf help VERB
	Examples []string // full command lines, e.g. "/cicf status emma"
	Hidden   bool     // left out of /cicf help
	Run      func(ctx context.Context, req *Request) (*Reply, error)
}

// Usage is how one role calls a verb.
type Usage struct {
	Role    tasks.Role
	Args    string // e.g. "[NAME|all]"
	Summary string
}

// Request is one parsed command from a known caller.
type Request struct {
	Caller *tasks.Caller
	Verb   string
	Args   []Token
	// Audit is the entry Handle records for this command; a verb may say
	// more in it (confirm names what was confirmed).
	Audit *tasks.AuditEntry
}

// usageFor returns the usage of c for role, or false if role may not use c.
func (c *Command) usageFor(role tasks.Role) (Usage, bool) {
	for _, u := range c.Usages {
		if u.Role == role {
			return u, true
		}
	}
	return Usage{}, false
}

// registry holds the commands by verb.
type registry map[string]*Command

func (r registry) add(c *Command) { r[c.Verb] = c }

// verbs returns the verbs in alphabetical order, help first.
func (r registry) verbs() []string {
	out := make([]string, 0, len(r))
	for v := range r {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i] == "help") != (out[j] == "help") {
			return out[i] == "help"
		}
		return out[i] < out[j]
	})
	return out
}

// closest returns the verb nearest to v by edit distance, if any is close.
func (r registry) closest(v string) string {
	best, bestD := "", 3
	for verb := range r {
		if d := editDistance(v, verb); d < bestD {
			best, bestD = verb, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}
