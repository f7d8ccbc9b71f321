package dosim

import (
	"net/http"
	"slices"
	"strconv"
	"time"
)

// action is a droplet event: its create, or a power action.
type action struct {
	id, dropletID int
	typ           string // create, power_on, power_off, shutdown, reboot
	region        string
	status        string // in-progress, completed
	startedAt     time.Time
	doneAt        time.Time // when it completes
	toStatus      string    // the droplet's status once it completes
}

// powerActions maps the supported action types to the status they leave.
var powerActions = map[string]string{
	"power_on":  "active",
	"power_off": "off",
	"shutdown":  "off",
	"reboot":    "active",
}

// startAction records an action on d that completes after delay. Callers
// hold s.mu.
func (s *Server) startAction(d *droplet, typ, toStatus string, now time.Time, delay time.Duration) *action {
	a := &action{
		id: s.nextActionID, dropletID: d.id, typ: typ, region: d.spec.Region,
		status: "in-progress", startedAt: now, doneAt: now.Add(delay), toStatus: toStatus,
	}
	s.nextActionID++
	s.actions[a.id] = a
	s.running = append(s.running, a)
	d.pending = a
	return a
}

// postDropletAction answers POST /v2/droplets/{id}/actions with 201 and the
// action in progress. A droplet that is being created, deleted or is busy
// with another action answers 422, as DO does.
func (s *Server) postDropletAction(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Type string `json:"type"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	d, ok := s.dropletAt(r)
	var body actionJSON
	msg := ""
	toStatus, known := powerActions[req.Type]
	switch {
	case !ok:
	case !known:
		msg = "Action type must be one of power_on, power_off, shutdown, reboot."
	case d.pending != nil || d.spec.Status == "new" || !d.deleteAt.IsZero():
		msg = "Droplet already has a pending event."
	default:
		now := s.opts.Now()
		body = s.startAction(d, req.Type, toStatus, now, s.scaled(s.opts.ActionDelay)).json()
	}
	s.mu.Unlock()
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, "not_found", notFoundMessage)
	case msg != "":
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", msg)
	default:
		writeJSON(w, http.StatusCreated, struct {
			Action actionJSON `json:"action"`
		}{body})
	}
}

// getAction answers GET /v2/actions/{id}.
func (s *Server) getAction(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	s.mu.Lock()
	a, ok := s.actions[id]
	var body actionJSON
	if ok {
		body = a.json()
	}
	s.mu.Unlock()
	if err != nil || !ok {
		writeError(w, http.StatusNotFound, "not_found", notFoundMessage)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Action actionJSON `json:"action"`
	}{body})
}

// listDropletActions answers GET /v2/droplets/{id}/actions, oldest first.
func (s *Server) listDropletActions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	d, ok := s.dropletAt(r)
	var all []actionJSON
	if ok {
		for _, a := range s.actions {
			if a.dropletID == d.id {
				all = append(all, a.json())
			}
		}
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", notFoundMessage)
		return
	}
	slices.SortFunc(all, func(a, b actionJSON) int { return a.ID - b.ID })
	writePage(s, w, r, "actions", all)
}

// actionJSON is the action object of the v2 API.
type actionJSON struct {
	ID           int        `json:"id"`
	Status       string     `json:"status"`
	Type         string     `json:"type"`
	StartedAt    string     `json:"started_at"`
	CompletedAt  *string    `json:"completed_at"`
	ResourceID   int        `json:"resource_id"`
	ResourceType string     `json:"resource_type"`
	Region       regionJSON `json:"region"`
	RegionSlug   string     `json:"region_slug"`
}

func (a *action) json() actionJSON {
	out := actionJSON{
		ID: a.id, Status: a.status, Type: a.typ,
		StartedAt:  a.startedAt.UTC().Format(time.RFC3339),
		ResourceID: a.dropletID, ResourceType: "droplet",
		Region:     regionOf(a.region),
		RegionSlug: a.region,
	}
	if a.status == "completed" {
		done := a.doneAt.UTC().Format(time.RFC3339)
		out.CompletedAt = &done
	}
	return out
}
