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
		fmt.Fprintf(&b, "• `%s` <@%s>", s.Name, s.SlackID)
		if s.Email != "" {
			fmt.Fprintf(&b, " %s", s.Email)
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

func (r *Router) rosterRemove(ctx context.Context, t Token) (*Reply, error) {
	name, err := r.studentName(ctx, t)
	if err != nil {
		return nil, err
	}
	// Look before deleting: the VM record goes with the roster entry.
	st, _, serr := r.fleet.StatusOf(ctx, name)
	if serr != nil && tasks.ErrorCode(serr) != tasks.EINTERNAL {
		return nil, serr
	}
	if err := r.students.DeleteStudent(ctx, name); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("Removed `%s` from the roster.", name)
	if serr != nil {
		r.logger.WarnContext(ctx, "roster remove: could not check for a droplet", "name", name, "err", serr)
	} else if st.VM != nil && st.VM.Status != "" {
		msg += fmt.Sprintf(" Their droplet `%s` still exists and now shows as not on the roster.", r.fleet.FQDN(name))
	}
	return Textf("%s", msg), nil
}

func looksLikeKeyType(s string) bool {
	return strings.HasPrefix(s, "ssh-") || strings.HasPrefix(s, "ecdsa-") || strings.HasPrefix(s, "sk-")
}
