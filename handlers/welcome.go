package handlers

import (
	"context"
	"fmt"

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

// welcome writes the welcome DM for name's VM: what cfg.Welcome writes,
// or without it a short text naming the next commands.
func (s *StudentDMSender) welcome(ctx context.Context, name string) (*Reply, error) {
	if s.cfg.Welcome == nil {
		return Textf(":wave: Your VM `%s.%s` is ready. Type `/cicf ssh-config` to connect safely, then `/cicf password` to set your JupyterLab password.", Escape(name), s.cfg.Domain), nil
	}
	rep, err := s.cfg.Welcome(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("welcome for %s: %w", name, err)
	}
	return rep, nil
}
