package tasks

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Run kinds: the long tasks the bot carries out step by step.
const (
	RunProvision = "provision"
	RunReset     = "reset"
	RunDestroy   = "destroy"
	RunPowerOn   = "power-on"
	RunPowerOff  = "power-off"
)

// Run states.
const (
	RunRunning = "running" // also after a crash: resumed at the next start
	RunDone    = "done"
	RunFailed  = "failed"
)

// Run is one execution of a long task on one VM, persisted after every step
// so that a restarted bot resumes it.
type Run struct {
	ID          int64
	VM          string // the student's name
	Kind        string
	State       string
	Step        int      // index into Steps of the step to do next
	Steps       []string // step titles, fixed when the run is created
	RequestedBy string   // Slack user ID, or "console"
	// Where progress is shown: the requester's ID (their DM with the bot)
	// until the progress reporter posts, then the DM's channel and message
	// (SetRunMessage).
	Channel   string
	MessageTS string
	// Data holds what steps learned and later steps need: droplet IDs, host
	// public keys. Never a secret.
	Data       map[string]string
	Error      string // for a failed run: what went wrong, for people
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time
}

// RunService keeps runs.
type RunService interface {
	// CreateRun stores a new running run and sets its ID. It returns
	// ECONFLICT when the VM already has a running run.
	CreateRun(ctx context.Context, r *Run) error
	// UpdateRun saves the run's state, step, data, error and end.
	UpdateRun(ctx context.Context, r *Run) error
	// SetRunMessage records the channel and timestamp of the run's progress
	// message, so that a resumed run edits the same message.
	SetRunMessage(ctx context.Context, id int64, channel, ts string) error
	// FindRun returns ENOTFOUND when there is no run with that ID.
	FindRun(ctx context.Context, id int64) (*Run, error)
	// ActiveRun returns the VM's running run, or ENOTFOUND.
	ActiveRun(ctx context.Context, vm string) (*Run, error)
	// ActiveRuns returns every running run, oldest first.
	ActiveRuns(ctx context.Context) ([]*Run, error)
	// ListRuns returns the newest runs first, of one VM if vm is not "".
	ListRuns(ctx context.Context, vm string, limit int) ([]*Run, error)
}

// Title says what the run does, e.g. "reset of emma".
func (r *Run) Title() string {
	return fmt.Sprintf("%s of %s", strings.ReplaceAll(r.Kind, "-", " "), r.VM)
}

// Progress renders a text progress bar such as "▓▓▓░░░░░░ 3/9".
func (r *Run) Progress() string {
	n := len(r.Steps)
	done := min(r.Step, n)
	if r.State == RunDone {
		done = n
	}
	return strings.Repeat("▓", done) + strings.Repeat("░", n-done) + fmt.Sprintf(" %d/%d", done, n)
}

// CurrentStep returns the title of the step in progress, or "" when finished.
func (r *Run) CurrentStep() string {
	if r.State != RunRunning || r.Step >= len(r.Steps) {
		return ""
	}
	return r.Steps[r.Step]
}

// BusyError returns the ECONFLICT error a second run on r's VM gets. Store
// implementations use it so every path says the same thing.
func BusyError(r *Run) error {
	return Errorf(ECONFLICT, "A %s is already running (step %d/%d: %s). Wait for it to finish; `/cicf status %s` shows it.",
		r.Title(), min(r.Step+1, len(r.Steps)), len(r.Steps), r.CurrentStep(), r.VM)
}
