package tasks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// OfferKind names a destructive command waiting for its requester's
// confirmation.
type OfferKind string

// Offer kinds.
const (
	OfferReset   OfferKind = "reset"
	OfferDestroy OfferKind = "destroy"
)

// OfferTTL is how long a confirmation stays valid.
const OfferTTL = 5 * time.Minute

// OfferTarget is one VM an offer acts on, bound to the identity of its
// student when offered: a confirm refuses if the name now belongs to
// someone else (defect 7). SlackID is "" for a droplet nobody on the roster
// owned.
type OfferTarget struct {
	Name    string `json:"name"`
	SlackID string `json:"slack_id"`
}

// Offer is a stored confirmation: what would be done (Kind on Targets), for
// whom (Requester), until when. It is data, not a closure, so it survives a
// restart and a second replica can take it.
type Offer struct {
	ID        string
	Kind      OfferKind
	Targets   []OfferTarget
	Requester string // Slack user ID, or "console"
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Names returns the targets' names.
func (o *Offer) Names() []string {
	out := make([]string, len(o.Targets))
	for i, t := range o.Targets {
		out[i] = t.Name
	}
	return out
}

// Summary says what the offer does, e.g. "reset emma", for audit records
// and listings.
func (o *Offer) Summary() string {
	return string(o.Kind) + " " + strings.Join(o.Names(), " ")
}

// OfferStore keeps offers where every replica sees them.
type OfferStore interface {
	// CreateOffer stores o and drops offers that expired before o.CreatedAt.
	CreateOffer(ctx context.Context, o *Offer) error
	// TakeOffer removes and returns offer id if requester made it, in one
	// conditional statement, so that of two takes at once only one gets
	// it. It returns ENOTFOUND when there is no such offer (used, cancelled
	// or expired) and EFORBIDDEN, removing nothing, when someone else made
	// it. An expired offer is removed and returned: the caller decides.
	TakeOffer(ctx context.Context, id, requester string) (*Offer, error)
	// ListOffers returns the offers that expire after now, oldest first.
	ListOffers(ctx context.Context, now time.Time) ([]*Offer, error)
}

// Offers makes and takes confirmations.
type Offers struct {
	Store    OfferStore
	Students StudentService
	Now      func() time.Time
}

// Offer stores a confirmation of kind on names for requester, capturing
// each student's identity now.
func (s *Offers) Offer(ctx context.Context, kind OfferKind, requester string, names []string) (*Offer, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("offer id: %w", err)
	}
	now := s.Now()
	o := &Offer{ID: hex.EncodeToString(b[:]), Kind: kind, Requester: requester, CreatedAt: now, ExpiresAt: now.Add(OfferTTL)}
	for _, n := range names {
		t := OfferTarget{Name: n}
		st, err := s.Students.FindStudent(ctx, n)
		switch {
		case err == nil:
			t.SlackID = st.SlackID
		case ErrorCode(err) != ENOTFOUND:
			return nil, err
		}
		o.Targets = append(o.Targets, t)
	}
	if err := s.Store.CreateOffer(ctx, o); err != nil {
		return nil, err
	}
	return o, nil
}

// Take removes offer id for requester and returns it, with ENOTFOUND if it
// expired. Whatever it returns, the offer cannot be taken again.
func (s *Offers) Take(ctx context.Context, id, requester string) (*Offer, error) {
	o, err := s.Store.TakeOffer(ctx, id, requester)
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "That confirmation is no longer valid (used, cancelled or expired). Run the command again.")
	}
	if err != nil {
		return nil, err
	}
	if !s.Now().Before(o.ExpiresAt) {
		return o, Errorf(ENOTFOUND, "That confirmation expired after %s. Run the command again.", OfferTTL)
	}
	return o, nil
}

// CheckTargets returns ECONFLICT unless every target of o is still the
// person it was when offered: a name removed, or given to someone else,
// since then.
func (s *Offers) CheckTargets(ctx context.Context, o *Offer) error {
	for _, t := range o.Targets {
		st, err := s.Students.FindStudent(ctx, t.Name)
		switch {
		case ErrorCode(err) == ENOTFOUND && t.SlackID == "":
		case err != nil && ErrorCode(err) != ENOTFOUND:
			return err
		case err != nil || st.SlackID != t.SlackID:
			return Errorf(ECONFLICT, "`%s` is not the same roster entry as when you asked (removed or given to someone else), so nothing was done. Run the command again if you still mean it.", t.Name)
		}
	}
	return nil
}

// Cancel removes offer id for requester and returns it.
func (s *Offers) Cancel(ctx context.Context, id, requester string) (*Offer, error) {
	o, err := s.Store.TakeOffer(ctx, id, requester)
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "That confirmation is no longer valid (used, cancelled or expired); nothing to cancel.")
	}
	return o, err
}

// Pending returns the offers still waiting for a confirm, oldest first.
func (s *Offers) Pending(ctx context.Context) ([]*Offer, error) {
	return s.Store.ListOffers(ctx, s.Now())
}
