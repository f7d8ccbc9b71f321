package tasks

import (
	"context"
	"time"
)

// AlertState is the persisted alert state of one (VM, check). Class-wide
// alerts (a sweep where most VMs fail alike, DigitalOcean unreachable) have
// VM "" and Check "group:CHECK" or GroupCloud.
type AlertState struct {
	VM, Check string
	Firing    bool // the problem is established (fire_after failures, or at once)
	// Announced is the incident the channel was told of (firing or
	// flapping) and not yet that it ended; 0 if none. It differs from the
	// current incident while muted or flapping; when those end, the
	// difference becomes messages, so no resolve is lost.
	Announced int64
	Flapping  bool
	Fails     int // consecutive counted failures
	Oks       int // consecutive counted successes
	Checks    int // failed checks in the current incident
	Level     int // highest Result.Level of the incident
	Detail    string
	Fix       string
	Since     time.Time   // first failure of the current incident
	FiredAt   time.Time   // when it fired; zero if never
	Resolved  time.Time   // when it last resolved; zero if never
	Reminded  time.Time   // last firing or reminder message
	Changes   []time.Time // firing/resolving times within the flapping window
	Incident  int64       // numbers the incidents of this (VM, check), from 1
	ThreadTS  string      // on read: Slack ts of the announced incident's first message, "" if none
	Version   int64       // for conditional updates; 0 when never stored
	UpdatedAt time.Time
}

// GroupCloud is the check name of the class-wide "DigitalOcean cannot be
// reached" alert.
const GroupCloud = "group:cloud"

// MuteAll is the VM name of a mute covering every VM.
const MuteAll = "*"

// EventKind says what an alert event tells the channel.
type EventKind string

// Event kinds.
const (
	EventFiring    EventKind = "firing"    // a new incident: top-level message
	EventReminder  EventKind = "reminder"  // still failing: in the thread
	EventEscalated EventKind = "escalated" // worse (cert days crossing 7, 3, 1): in the thread
	EventResolved  EventKind = "resolved"  // fixed, with Duration and Checks: thread and channel
	EventFlapping  EventKind = "flapping"  // changing too often; quiet until stable 1 h
	EventMuted     EventKind = "muted"     // a mute began (VM, Detail = reason, Until)
	EventUnmuted   EventKind = "unmuted"   // a mute was lifted or ended
	EventDigest    EventKind = "digest"    // the daily digest; Data holds it as JSON
)

// AlertEvent is one message the poster owes the channel, kept in an outbox
// written in the same transaction as the state change that caused it.
type AlertEvent struct {
	ID       int64
	Kind     EventKind
	VM       string // "" for class-wide events
	Check    string
	Incident int64  // with VM and Check, names the incident's thread
	Detail   string // plain text; may hold VM output: escape before mrkdwn
	Fix      string
	Since    time.Time     // incident start
	Until    time.Time     // mute end, for muted events
	Duration time.Duration // resolved: how long it lasted
	Checks   int           // resolved: failed checks in the incident
	By       string        // Slack user ID of whoever muted or unmuted
	At       time.Time
	// ThreadTS is the ts of the incident's first message when it has been
	// posted: reminders, escalations and the resolve go in that thread.
	ThreadTS string
	Data     string // JSON payload (the digest)
	SentAt   time.Time
}

// Mute silences the alerts of a VM (or MuteAll) until a time. State is still
// kept while muted, so a resolve is never lost.
type Mute struct {
	VM        string
	Until     time.Time
	By        string // Slack user ID
	Reason    string
	CreatedAt time.Time
}

// MaxMute is the longest a mute may last.
const MaxMute = 7 * 24 * time.Hour

// AlertStore is the persistence the sweeps need. store.AlertService
// implements it.
type AlertStore interface {
	ResultStore
	// AlertStates returns every stored alert state sorted by VM and check.
	AlertStates(ctx context.Context) ([]AlertState, error)
	// SaveAlert writes st if the stored version of (st.VM, st.Check) is still
	// st.Version (0: none stored), bumping it, and appends events to the
	// outbox, in one transaction. If another writer (a second replica) came
	// first it returns ECONFLICT and writes nothing, so two replicas never
	// both fire.
	SaveAlert(ctx context.Context, st AlertState, events []AlertEvent) error
	// ActiveMutes returns the mutes in force at now.
	ActiveMutes(ctx context.Context, now time.Time) ([]Mute, error)
	// ExpireMutes deletes the mutes that ended at or before now and queues an
	// unmuted event for each, in one transaction, returning them.
	ExpireMutes(ctx context.Context, now time.Time) ([]Mute, error)
	// QueueOnce appends ev to the outbox unless an event with the same key
	// was queued before (one digest a day across replicas); it reports
	// whether it queued.
	QueueOnce(ctx context.Context, key string, ev AlertEvent) (bool, error)
	// EventsSince returns the events of kinds at or after t, oldest first.
	EventsSince(ctx context.Context, t time.Time, kinds ...EventKind) ([]AlertEvent, error)
	// DeleteAlert deletes the state of (st.VM, st.Check) and that VM's
	// result of the check if the stored version is still st.Version, and
	// appends events, in one transaction; ECONFLICT (nothing written) if
	// another writer came first. Sweeps use it for VMs that are gone.
	DeleteAlert(ctx context.Context, st AlertState, events []AlertEvent) error
}

// AlertService is what the Slack poster and the alerts, mute and unmute
// verbs use. store.AlertService implements it.
type AlertService interface {
	// OpenAlerts returns the states that fire or flap, sorted by VM and check.
	OpenAlerts(ctx context.Context) ([]AlertState, error)
	// ActiveMutes returns the mutes in force at now, sorted by VM.
	ActiveMutes(ctx context.Context, now time.Time) ([]Mute, error)
	// Mute stores m (replacing a mute of the same VM) and queues a muted
	// event. It returns EINVALID (see CheckMute) for a mute that has ended or
	// lasts over MaxMute.
	Mute(ctx context.Context, m Mute, now time.Time) error
	// Unmute lifts the mute of vm (or MuteAll) and queues an unmuted event
	// naming by; ENOTFOUND if there is none.
	Unmute(ctx context.Context, vm, by string, now time.Time) error
	// PendingEvents returns up to limit unsent events, oldest first, each
	// with the ThreadTS of its incident if that has been posted. An event
	// waits while an earlier event of its incident is unsent, so a poster
	// that marks each event sent before asking again always has the thread.
	PendingEvents(ctx context.Context, limit int) ([]AlertEvent, error)
	// MarkSent records that event id was posted, and for a firing or
	// flapping event the ts of its message, which becomes its incident's
	// thread. ENOTFOUND if no such event; marking twice is harmless.
	MarkSent(ctx context.Context, id int64, threadTS string, now time.Time) error
	// LatestResults: see ResultStore.
	LatestResults(ctx context.Context, vm string) ([]Result, error)
}

// CheckMute returns EINVALID, naming what to type instead, when m cannot be
// stored at now: no VM, already ended, or longer than MaxMute.
func CheckMute(m Mute, now time.Time) error {
	switch {
	case m.VM == "":
		return Errorf(EINVALID, "Say what to mute: a VM name or all, e.g. mute emma 1h.")
	case !m.Until.After(now):
		return Errorf(EINVALID, "A mute must end in the future, e.g. mute %s 1h.", m.VM)
	case m.Until.Sub(now) > MaxMute:
		return Errorf(EINVALID, "A mute lasts at most 7 days, e.g. mute %s 7d.", m.VM)
	}
	return nil
}

// mutedAt reports whether vm is muted by one of mutes at now.
func mutedAt(mutes []Mute, vm string, now time.Time) bool {
	for _, m := range mutes {
		if (m.VM == vm || m.VM == MuteAll) && m.Until.After(now) {
			return true
		}
	}
	return false
}
