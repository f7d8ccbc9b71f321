package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/cicf/cicf-bot/tasks"
)

func (r *Router) rosterCommand() *Command {
	return &Command{
		Verb: "roster",
		Usages: []Usage{
			{tasks.RoleInstructor, "[list | add NAME @user [EMAIL] [PUBKEY] | remove NAME]", "who is in the class"},
		},
		Help: "Manages the class roster. NAME becomes the VM's name (NAME.domain): lowercase letters, digits and dashes. " +
			"The student is recognised by their Slack user, so mention them with @. The SSH public key is optional here; provisioning waits for it. " +
			"To load a whole class from a CSV file, run `cicf-bot roster import FILE.csv` on the bot's machine.",
		Examples: []string{
			"/cicf roster list",
			"/cicf roster add emma @emma emma@example.edu",
			"/cicf roster add emma @emma ssh-ed25519 AAAAC3Nza… emma@laptop",
			"/cicf roster remove emma",
		},
		Run: r.roster,
	}
}

func (r *Router) roster(ctx context.Context, req *Request) (*Reply, error) {
	sub := "list"
	if len(req.Args) > 0 {
		sub = strings.ToLower(req.Args[0].Text)
	}
	args := req.Args[min(1, len(req.Args)):]
	switch sub {
	case "list":
		if len(args) > 0 {
			return nil, tasks.Errorf(tasks.EINVALID, "`/cicf roster list` takes no arguments.")
		}
		return r.rosterList(ctx)
	case "add":
		return r.rosterAdd(ctx, args)
	case "remove", "rm", "delete":
		if len(args) != 1 {
			return nil, tasks.Errorf(tasks.EINVALID, "Type `/cicf roster remove NAME`, e.g. `/cicf roster remove emma`.")
		}
		return r.rosterRemove(ctx, args[0])
	}
	return nil, tasks.Errorf(tasks.EINVALID, "Unknown roster command `%s`. Use `list`, `add` or `remove`; see `/cicf help roster`.", clipText(sub, 32))
}

func (r *Router) rosterList(ctx context.Context) (*Reply, error) {
	students, err := r.students.ListStudents(ctx)
	if err != nil {
		return nil, err
	}
	if len(students) == 0 {
		return Textf("The roster is empty. Add a student with `/cicf roster add NAME @user [EMAIL] [PUBKEY]`."), nil
	}
	waiting := 0
	var b strings.Builder
	for _, s := range students {
		key := "no key yet"
		if fp := fingerprint(s.PublicKey); fp != "" {
			key = "key `" + fp + "`"
		} else {
			waiting++
		}
		fmt.Fprintf(&b, "• `%s` <@%s>", Escape(s.Name), Escape(s.SlackID))
		if s.Email != "" {
			fmt.Fprintf(&b, " %s", Escape(s.Email))
		}
		fmt.Fprintf(&b, " — %s\n", key)
	}
	head := fmt.Sprintf("*%d students*", len(students))
	if waiting > 0 {
		head += fmt.Sprintf(" · %d without an SSH key", waiting)
	}
	return Textf("%s", head).Add(b.String()), nil
}

func (r *Router) rosterAdd(ctx context.Context, args []Token) (*Reply, error) {
	const usage = "Type `/cicf roster add NAME @user [EMAIL] [PUBKEY]`, e.g. `/cicf roster add emma @emma`."
	if len(args) < 2 {
		return nil, tasks.Errorf(tasks.EINVALID, "%s", usage)
	}
	s := &tasks.Student{Name: strings.ToLower(args[0].Text)}
	if err := tasks.ValidateName(s.Name); err != nil {
		return nil, err
	}
	s.SlackID = args[1].UserID
	if s.SlackID == "" {
		// The console has no mentions: accept a bare user ID, with or without @.
		s.SlackID = strings.TrimPrefix(args[1].Text, "@")
		if tasks.ValidateSlackID(s.SlackID) != nil {
			return nil, tasks.Errorf(tasks.EINVALID, "Mention the student's Slack user with @ (e.g. `@emma`), not %q. %s", clipText(args[1].Text, 40), usage)
		}
	}
	rest := args[2:]
	if len(rest) > 0 && strings.Contains(rest[0].Text, "@") && !looksLikeKeyType(rest[0].Text) {
		s.Email = rest[0].Text
		rest = rest[1:]
	}
	if len(rest) > 0 {
		s.PublicKey = strings.Join(texts(rest), " ")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := r.students.CreateStudent(ctx, s); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("Added `%s` (<@%s>); their VM will be `%s`.", s.Name, s.SlackID, r.fleet.FQDN(s.Name))
	if s.PublicKey == "" {
		msg += " No SSH key yet: provisioning waits for one."
	} else {
		msg += fmt.Sprintf(" SSH key `%s`.", fingerprint(s.PublicKey))
	}
	return Textf("%s", msg), nil
}

// rosterRemove deletes a student who has nothing left in the cloud. A run
// in progress would go on creating a droplet and DNS records for a name
// no one owns any more, and a droplet still there would be left to bill:
// both are refused, naming what to do first. The store refuses the delete
// too while a run is active, for a run that starts after this check.
func (r *Router) rosterRemove(ctx context.Context, t Token) (*Reply, error) {
	name, err := r.studentName(ctx, t)
	if err != nil {
		return nil, err
	}
	run, err := r.runner.ActiveRun(ctx, name)
	switch {
	case err == nil:
		return nil, tasks.Errorf(tasks.ECONFLICT, "Run #%d (%s) is still going: wait for it to finish (`/cicf runs %s` shows it), then remove `%s`.",
			run.ID, Escape(run.Title()), name, name)
	case tasks.ErrorCode(err) != tasks.ENOTFOUND:
		return nil, err
	}
	st, _, err := r.fleet.StatusOf(ctx, name)
	if err != nil {
		// Unknown is not "none": removing now could leave a droplet behind.
		return nil, err
	}
	if st.VM != nil && st.VM.Status != "" {
		return nil, tasks.Errorf(tasks.ECONFLICT, "`%s` still has the droplet `%s`: destroy it first with `/cicf destroy %s`, then `/cicf roster remove %s`.",
			name, r.fleet.FQDN(name), name, name)
	}
	if err := r.students.DeleteStudent(ctx, name); err != nil {
		return nil, err
	}
	return Textf("Removed `%s` from the roster.", name), nil
}

func looksLikeKeyType(s string) bool {
	return strings.HasPrefix(s, "ssh-") || strings.HasPrefix(s, "ecdsa-") || strings.HasPrefix(s, "sk-")
}
