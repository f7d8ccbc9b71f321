package tasks

import (
	"context"
	"time"
)

// DMKind says which message a StudentDM is.
type DMKind string

// DM kinds.
const (
	// DMWelcome: the student's VM is ready for the first time.
	DMWelcome DMKind = "welcome"
	// DMReset: someone else reset the student's VM; here is its new host key.
	DMReset DMKind = "reset"
)

// DMOutcome is how a StudentDM ended.
type DMOutcome string

// DM outcomes.
const (
	DMSent        DMOutcome = "sent"        // Slack took it
	DMUnreachable DMOutcome = "unreachable" // Slack said no retry can help
	DMGaveUp      DMOutcome = "gave_up"     // it failed on every try
)

// StudentDM is a direct message the bot owes a student at the end of a run.
// It holds who and which run, not the text: the text is written when it is
// sent, from the run and the roster, so the queue never holds more than
// RunData does (never a secret).
type StudentDM struct {
	ID    int64
	RunID int64
	Kind  DMKind
	VM    string
	To    string // the student's Slack user ID
	// Tries counts the claims so far, the current one included: a process
	// that dies while sending still used its try.
	Tries     int
	NotBefore time.Time
	CreatedAt time.Time
	// DoneAt, Outcome and Detail say how it ended (zero while owed);
	// Detail is Slack's error code or a short reason, never message text.
	DoneAt  time.Time
	Outcome DMOutcome
	Detail  string
}

// DMFor returns the DM that r owes once it is recorded, and false if it owes
// none: only a run that is done tells a student, the one it made ready
// (welcome) or the one whose VM someone else reset.
func DMFor(r *Run) (StudentDM, bool) {
	if r.State != RunDone {
		return StudentDM{}, false
	}
	dm := StudentDM{RunID: r.ID, VM: r.VM}
	switch {
	case r.Data.Welcome != "":
		dm.Kind, dm.To = DMWelcome, r.Data.Welcome
	case r.Data.Notify != "":
		dm.Kind, dm.To = DMReset, r.Data.Notify
	default:
		return StudentDM{}, false
	}
	return dm, true
}

// StudentDMQueue keeps the DMs owed to students until they are sent. The
// store queues a run's DM in the transaction that records the run done
// (DMFor decides; one per run), so a restart between the two neither loses
// nor doubles it. A DM is claimed for a while before it is sent, so that of two
// replicas only one sends it; a claim that lapses (its process died) makes
// it due again.
type StudentDMQueue interface {
	// ClaimDMs claims up to limit DMs that are due at now and not claimed
	// by anyone until after now, oldest first, for owner until until, and
	// counts a try on each. It returns an internal error if the write fails.
	ClaimDMs(ctx context.Context, owner string, now, until time.Time, limit int) ([]StudentDM, error)
	// DoneDM records how DM id ended, at now; a DM is done once (the first
	// outcome stays). It returns ENOTFOUND if there is no such DM.
	DoneDM(ctx context.Context, id int64, outcome DMOutcome, detail string, now time.Time) error
	// RetryDM hands DM id, claimed by owner, back to be due at at; refund
	// takes back the try its claim counted (Slack said "later", nothing
	// failed). It reports false, changing nothing, if owner no longer holds
	// the claim or the DM is done.
	RetryDM(ctx context.Context, id int64, owner string, at time.Time, refund bool) (bool, error)
}
