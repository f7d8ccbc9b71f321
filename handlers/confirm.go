package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// offerTTL is how long a confirm button stays valid.
const offerTTL = 5 * time.Minute

// offer is a destructive command waiting for its requester's confirmation.
type offer struct {
	userID  string
	expires time.Time
	run     func(ctx context.Context) (*Reply, error)
}

// offers holds pending confirmations in memory: after a restart they are
// gone and the person simply asks again.
type offers struct {
	mu sync.Mutex
	m  map[string]*offer
}

func (o *offers) add(userID string, now time.Time, run func(ctx context.Context) (*Reply, error)) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[string]*offer{}
	}
	for k, v := range o.m {
		if now.After(v.expires) {
			delete(o.m, k)
		}
	}
	o.m[id] = &offer{userID: userID, expires: now.Add(offerTTL), run: run}
	return id
}

// take returns the offer if userID may confirm it now, removing it so a
// double click runs nothing twice.
func (o *offers) take(id, userID string, now time.Time) (*offer, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	of, ok := o.m[id]
	switch {
	case !ok:
		return nil, tasks.Errorf(tasks.ENOTFOUND, "That confirmation is no longer valid (used, expired or from before a restart). Run the command again.")
	case of.userID != userID:
		return nil, tasks.Errorf(tasks.EFORBIDDEN, "Only the person who asked can confirm this.")
	case now.After(of.expires):
		delete(o.m, id)
		return nil, tasks.Errorf(tasks.ENOTFOUND, "That confirmation expired after %s. Run the command again.", offerTTL)
	}
	delete(o.m, id)
	return of, nil
}

// Confirm runs the offer id for userID: from a Slack button or the console's
// `confirm ID`. It always returns a reply.
func (r *Router) Confirm(ctx context.Context, userID, id string) *Reply {
	start := r.now()
	entry := &tasks.AuditEntry{At: start, UserID: userID, Verb: "confirm", Args: clipText(id, 32)}
	reply, err := r.confirm(ctx, userID, id)
	if err != nil {
		reply = Error(ctx, r.logger, err)
	}
	entry.Outcome = "ok"
	if err != nil {
		entry.Outcome = tasks.ErrorCode(err)
	}
	entry.Duration = r.now().Sub(start)
	r.record(ctx, entry)
	// Someone else's click must not wipe the requester's buttons.
	reply.Replace = tasks.ErrorCode(err) != tasks.EFORBIDDEN
	return reply
}

func (r *Router) confirm(ctx context.Context, userID, id string) (*Reply, error) {
	of, err := r.offers.take(id, userID, r.now())
	if err != nil {
		return nil, err
	}
	// Roles can change within an offer's life (a roster removal).
	caller, err := r.dir.Identify(ctx, userID)
	if err != nil {
		return nil, err
	}
	if caller.Role == tasks.RoleNone {
		return nil, tasks.Errorf(tasks.EFORBIDDEN, "You are no longer on the class roster, so this was not done.")
	}
	return of.run(ctx)
}

// ask returns a reply that offers run to the caller behind a confirmation.
func (r *Router) ask(c *tasks.Caller, question, button string, run func(ctx context.Context) (*Reply, error)) *Reply {
	id := r.offers.add(c.UserID, r.now(), run)
	rep := Textf("%s", question)
	rep.Confirm = &Confirm{ID: id, Button: button}
	return rep
}

// Cancel drops the offer id if userID made it.
func (r *Router) Cancel(ctx context.Context, userID, id string) *Reply {
	if _, err := r.offers.take(id, userID, r.now()); err != nil {
		rep := Error(ctx, r.logger, err)
		rep.Replace = tasks.ErrorCode(err) != tasks.EFORBIDDEN
		return rep
	}
	return &Reply{Sections: []Section{{Text: "Cancelled; nothing was changed."}}, Replace: true}
}
