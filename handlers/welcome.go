package handlers

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/cicf/cicf-bot/tasks"
)

// Welcome is the message a student gets when their VM is ready for the
// first time: its status card, the SSH settings with the pinned host key,
// and how to set the JupyterLab password. Errors are those of the store.
func (r *Router) Welcome(ctx context.Context, name string) (*Reply, error) {
	fqdn := r.fleet.FQDN(name)
	card, err := r.card(ctx, name)
	if err != nil {
		return nil, err
	}
	ssh, err := r.sshConfigReply(ctx, name)
	if err != nil {
		return nil, err
	}
	rep := Textf(":wave: Your VM `%s` is ready. Three things to do, in this order:", Escape(fqdn))
	rep.Sections = append(rep.Sections, card.Sections...)
	rep.Add("*1. Connect with SSH* — the bot pinned the VM's host key, so you never have to trust it blindly:")
	rep.Sections = append(rep.Sections, ssh.Sections...)
	rep.Add(fmt.Sprintf("*2. Set your JupyterLab password* — type `/cicf password`; a form asks for it. "+
		"*3. Open* https://%s and log in as `%s`. `/cicf help` lists everything else.", Escape(fqdn), tasks.PasswordUser))
	return rep, nil
}

// SetWelcome gives the reporter the function that writes the welcome
// message (Router.Welcome); without it the welcome is a short text.
func (p *SlackProgress) SetWelcome(f func(ctx context.Context, name string) (*Reply, error)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.welcome = f
}

// dmTo returns whom a finished run's DM goes to: the student someone else
// reset, or the student whose VM is ready for the first time; "" for none.
func dmTo(r tasks.Run) string {
	if r.Data.Notify != "" {
		return r.Data.Notify
	}
	return r.Data.Welcome
}

// sendWelcome DMs the student of a provision that made their VM ready.
func (p *SlackProgress) sendWelcome(ctx context.Context, r tasks.Run) error {
	p.mu.Lock()
	welcome := p.welcome
	p.mu.Unlock()
	rep := Textf(":wave: Your VM `%s.%s` is ready. Type `/cicf ssh-config` to connect safely, then `/cicf password` to set your JupyterLab password.", Escape(r.VM), p.domain)
	if welcome != nil {
		full, err := welcome(ctx, r.VM)
		if err != nil {
			return fmt.Errorf("welcome for %s: %w", r.VM, err)
		}
		rep = full
	}
	blocks, fallback := RenderBlocks(rep)
	_, _, err := p.api.PostMessageContext(ctx, r.Data.Welcome, slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...))
	return err
}
