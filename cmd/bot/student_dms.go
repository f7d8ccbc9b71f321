package main

import (
	"context"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

// dmParts is what the student DM sender reads: the store's queue, which
// runs fill when they are recorded done, and the runs the DMs are about.
type dmParts struct {
	queue *store.StudentDMQueue
	runs  tasks.RunService
}

// startStudentDMs runs the sender of the students' DMs (the welcome, the
// new host key after a reset) through api until Close, which waits for the
// tick in flight. What it has not sent stays in the store for the next
// start, and what an earlier process left is sent now, also what runs of
// the console queued (it has no Slack to send with).
func (m *Main) startStudentDMs(ctx context.Context, api handlers.SlackMessenger, welcome func(context.Context, string) (*handlers.Reply, error)) {
	sender := handlers.NewStudentDMSender(handlers.StudentDMConfig{Domain: m.Config.Domain, Welcome: welcome},
		m.dms.queue, m.dms.runs, api, m.Logger, m.Now)
	m.runUntilClose(ctx, sender.Run)
}
