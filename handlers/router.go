package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// Router turns command text from any front end into replies: it parses,
// identifies the caller by user ID, checks the role, runs the verb and
// records the audit entry.
type Router struct {
	dir      *tasks.Directory
	fleet    *tasks.Fleet
	students tasks.StudentService
	audit    tasks.AuditLog
	runner   *tasks.Runner
	logger   *slog.Logger
	now      func() time.Time
	cmds     registry
	offers   *tasks.Offers
	costs    *tasks.Costs
	// studentsMayReset lets students reset their own VM.
	studentsMayReset bool
	alerts           routerAlerts
}

// RouterDeps is what a Router needs.
type RouterDeps struct {
	Directory *tasks.Directory
	Fleet     *tasks.Fleet
	Students  tasks.StudentService
	Audit     tasks.AuditLog
	Runner    *tasks.Runner
	// Cloud lists the class's droplets for `cost`.
	Cloud tasks.DropletLister
	// Offers keeps confirmations (reset, destroy) where every replica sees
	// them; required.
	Offers tasks.OfferStore
	Logger *slog.Logger
	Now    func() time.Time
	// StudentsMayReset lets students reset their own VM (with confirmation).
	StudentsMayReset bool
	// Alerts, when set, adds the alerts, mute, unmute and check verbs.
	Alerts AlertDeps
}

// NewRouter returns a Router with every verb registered.
func NewRouter(d RouterDeps) *Router {
	r := &Router{
		dir: d.Directory, fleet: d.Fleet, students: d.Students, audit: d.Audit,
		runner: d.Runner,
		logger: d.Logger, now: d.Now, cmds: registry{}, studentsMayReset: d.StudentsMayReset,
		offers: &tasks.Offers{Store: d.Offers, Students: d.Students, Now: d.Now},
		costs:  &tasks.Costs{Droplets: d.Cloud, Tag: d.Fleet.Tag},
	}
	for _, c := range []*Command{
		r.helpCommand(), r.statusCommand(), r.rosterCommand(), r.keyCommand(),
		r.provisionCommand(), r.resetCommand(), r.destroyCommand(), r.powerCommand(),
		r.costCommand(), r.runsCommand(), r.confirmCommand(),
		r.sshConfigCommand(), r.passwordCommand(),
	} {
		r.cmds.add(c)
	}
	r.addAlertCommands(d.Alerts)
	return r
}

// Verbs returns every verb the Router knows, help first.
func (r *Router) Verbs() []string { return r.cmds.verbs() }

// Handle runs one command for userID and always returns a reply; failures
// become replies through Error.
func (r *Router) Handle(ctx context.Context, userID, text string) *Reply {
	start := r.now()
	entry := &tasks.AuditEntry{At: start, UserID: userID}
	reply, err := r.handle(ctx, userID, text, entry)
	if err != nil {
		reply = Error(ctx, r.logger, err)
	}
	entry.Outcome = "ok"
	if err != nil {
		entry.Outcome = tasks.ErrorCode(err)
	}
	entry.Duration = r.now().Sub(start)
	r.record(ctx, entry)
	return reply
}

// record writes the audit entry; a cancelled command must not lose it.
func (r *Router) record(ctx context.Context, entry *tasks.AuditEntry) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := r.audit.RecordAudit(actx, entry); err != nil {
		r.logger.ErrorContext(ctx, "record audit", "user_id", entry.UserID, "verb", entry.Verb, "err", err)
	}
}

func (r *Router) handle(ctx context.Context, userID, text string, entry *tasks.AuditEntry) (*Reply, error) {
	toks, err := Parse(text)
	if err != nil {
		entry.Verb = "(unparsed)"
		return nil, err
	}
	// The console accepts lines typed as in Slack.
	if len(toks) > 0 && toks[0].Text == "/cicf" {
		toks = toks[1:]
	}
	verb := "help"
	if len(toks) > 0 {
		verb = strings.ToLower(toks[0].Text)
		toks = toks[1:]
	}
	entry.Verb = clipText(verb, 32)

	caller, err := r.dir.Identify(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("identify %s: %w", userID, err)
	}
	entry.Role = caller.Role

	cmd, ok := r.cmds[verb]
	if !ok {
		msg := fmt.Sprintf("Unknown command `%s`.", clipText(verb, 32))
		if c := r.cmds.closest(verb); c != "" {
			if _, allowed := r.cmds[c].usageFor(caller.Role); allowed {
				msg += fmt.Sprintf(" Did you mean `/cicf %s`?", c)
			}
		}
		return nil, tasks.Errorf(tasks.EINVALID, "%s Type `/cicf help` for the list.", msg)
	}
	entry.Args = redactArgs(toks)
	if verb == "password" && len(toks) > 0 {
		entry.Args = "[redacted]" // a password typed on the command line
	}
	if _, allowed := cmd.usageFor(caller.Role); !allowed {
		return nil, r.forbidden(caller, cmd)
	}
	return cmd.Run(ctx, &Request{Caller: caller, Verb: verb, Args: toks, Audit: entry})
}

func (r *Router) forbidden(c *tasks.Caller, cmd *Command) error {
	if c.Role == tasks.RoleNone {
		return tasks.Errorf(tasks.EFORBIDDEN, "You are not on the class roster yet. %s", r.askInstructor())
	}
	if c.Role == tasks.RoleInstructor {
		return tasks.Errorf(tasks.EFORBIDDEN, "`/cicf %s` is for students, on their own VM. Type `/cicf help` for your commands.", cmd.Verb)
	}
	return tasks.Errorf(tasks.EFORBIDDEN, "Only instructors can use `/cicf %s`. Type `/cicf help` for your commands.", cmd.Verb)
}

// askInstructor names who can add a person to the roster.
func (r *Router) askInstructor() string {
	var ids []string
	for id := range r.dir.Instructors {
		if tasks.ValidateSlackID(id) == nil {
			ids = append(ids, "<@"+id+">")
		}
	}
	who := "an instructor"
	if len(ids) > 0 && len(ids) <= 3 {
		who = "an instructor (" + strings.Join(sortedStrings(ids), ", ") + ")"
	}
	return fmt.Sprintf("Ask %s to add you with `/cicf roster add NAME @you`.", who)
}

// redactArgs renders the arguments for the audit log without secrets or key
// material: public key blobs become "[key]", and from anything that looks
// like a private key (pasted by mistake) on, every word is dropped.
func redactArgs(toks []Token) string {
	parts := make([]string, 0, len(toks))
	private := false
	for _, t := range toks {
		s := t.Text
		if t.UserID != "" {
			s = "<@" + t.UserID + ">"
		}
		if strings.Contains(strings.ToUpper(s), "PRIVATE") || strings.HasPrefix(s, "-----") || strings.HasPrefix(s, "b3BlbnNzaC1rZXkt") {
			private = true
		}
		switch {
		case private:
			s = "[redacted]"
		case strings.HasPrefix(s, "AAAA") && len(s) > 40:
			s = "[key]"
		}
		parts = append(parts, s)
	}
	return clipText(strings.Join(parts, " "), 300)
}

func clipText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
