package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// RunKind names a long task the bot carries out step by step.
type RunKind string

// Run kinds.
const (
	RunProvision RunKind = "provision"
	RunReset     RunKind = "reset"
	RunDestroy   RunKind = "destroy"
	RunPowerOn   RunKind = "power-on"
	RunPowerOff  RunKind = "power-off"
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
	ID    int64
	VM    string // the student's name
	Kind  RunKind
	State string
	Step  int      // index into Steps and StepIDs of the step to do next
	Steps []string // step titles, fixed when the run is created
	// StepIDs name the steps' functions, fixed with Steps: a resumed run
	// does what it stored, and fails if this bot no longer knows a step.
	StepIDs     []string
	RequestedBy string // Slack user ID, or "console"
	// Where progress is shown: the requester's ID (their DM with the bot)
	// until the progress reporter posts, then the DM's channel and message
	// (SetRunMessage).
	Channel   string
	MessageTS string
	// Data holds what steps learned and later steps need. Never a secret.
	Data       RunData
	Error      string // for a failed run: what went wrong, for people
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time
}

// RunData is what a run's steps learned and later steps need, stored as
// JSON with the run. Never a secret.
type RunData struct {
	DropletID int `json:"droplet_id,omitempty"` // the droplet this run created or acts on
	// HostKey is the droplet's pinned host public key (authorized_keys
	// format); HostKeyNext the one being rotated in, until it answers.
	HostKey     string `json:"host_key,omitempty"`
	HostKeyNext string `json:"host_key_next,omitempty"`
	// CreateSent is set before the create request goes out: a resumed run
	// then waits for a droplet that may exist.
	CreateSent bool   `json:"create_sent,omitempty"`
	IPv4       string `json:"ipv4,omitempty"`
	IPv6       string `json:"ipv6,omitempty"`
	// Notify is the Slack ID of a student to tell about the finished run
	// (someone else reset their VM).
	Notify string `json:"notify,omitempty"`
	// Welcome is the Slack ID of the student whose VM this run made ready
	// for the first time (a provision): they get the welcome DM.
	Welcome string `json:"welcome,omitempty"`
	// Alert names an incident the alerting job should raise, e.g.
	// AlertHostKeyMismatch.
	Alert string `json:"alert,omitempty"`
}

// AlertHostKeyMismatch is RunData.Alert of a run stopped by a changed host key.
const AlertHostKeyMismatch = "host-key-mismatch"

// DecodeRunData parses stored run data strictly: an unknown field or a value
// of the wrong type is an error, never a zero that a step would act on.
func DecodeRunData(b []byte) (RunData, error) {
	var d RunData
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return RunData{}, fmt.Errorf("run data: %w", err)
	}
	if dec.More() {
		return RunData{}, fmt.Errorf("run data: trailing data after the object")
	}
	return d, nil
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
	return fmt.Sprintf("%s of %s", strings.ReplaceAll(string(r.Kind), "-", " "), r.VM)
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

// RecentRuns returns at most limit runs, newest first, of vm or of the
// class if vm is "": what `runs` lists.
func (x *Runner) RecentRuns(ctx context.Context, vm string, limit int) ([]*Run, error) {
	return x.d.Runs.ListRuns(ctx, vm, limit)
}

// ActiveRun returns vm's running run, or ENOTFOUND.
func (x *Runner) ActiveRun(ctx context.Context, vm string) (*Run, error) {
	return x.d.Runs.ActiveRun(ctx, vm)
}

// ActiveRuns returns every running run, oldest first.
func (x *Runner) ActiveRuns(ctx context.Context) ([]*Run, error) {
	return x.d.Runs.ActiveRuns(ctx)
}
