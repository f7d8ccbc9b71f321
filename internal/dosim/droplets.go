package dosim

import (
	"net/http"
	"slices"
	"strconv"
	"time"
)

// DropletSpec seeds one droplet. Zero fields get DO-like defaults.
type DropletSpec struct {
	Name      string
	Status    string // new, active, off, archive (default active)
	Tags      []string
	Region    string // slug (default fra1)
	Size      string // slug (default s-1vcpu-1gb)
	Image     string // slug (default debian-12-x64)
	IPv4      string // public; empty: no public IPv4 yet, as for a new droplet
	IPv6      string // public; empty: none
	CreatedAt time.Time
	// PriceMonthly and PriceHourly override the size's list price.
	PriceMonthly, PriceHourly float64
}

// droplet is a stored droplet; the wire shape is built by json.
type droplet struct {
	id       int
	spec     DropletSpec
	userData string
	// ipv4 and ipv6 are assigned at create and move into spec when the
	// create action completes.
	ipv4, ipv6 string
	pending    *action   // the action in progress, nil if none
	deleteAt   time.Time // when a deleted droplet disappears; zero if not deleted
}

// DropletInfo is what tests see of a stored droplet.
type DropletInfo struct {
	ID        int
	Name      string
	Status    string
	Tags      []string
	Region    string
	Size      string
	Image     string
	IPv4      string // "" until the droplet is active
	IPv6      string
	CreatedAt time.Time
}

func (d *droplet) info() DropletInfo {
	sp := d.spec
	return DropletInfo{
		ID: d.id, Name: sp.Name, Status: sp.Status, Tags: slices.Clone(sp.Tags),
		Region: sp.Region, Size: sp.Size, Image: sp.Image,
		IPv4: sp.IPv4, IPv6: sp.IPv6, CreatedAt: sp.CreatedAt,
	}
}

// AddDroplet stores a droplet built from spec and returns its ID. A droplet
// with a public IPv4 also gets a private VPC address, as DO assigns one.
func (s *Server) AddDroplet(spec DropletSpec) int {
	if spec.Status == "" {
		spec.Status = "active"
	}
	if spec.Region == "" {
		spec.Region = "fra1"
	}
	if spec.Size == "" {
		spec.Size = "s-1vcpu-1gb"
	}
	if spec.Image == "" {
		spec.Image = "debian-12-x64"
	}
	if spec.CreatedAt.IsZero() {
		spec.CreatedAt = s.opts.Now()
	}
	spec.Tags = slices.Clone(spec.Tags)
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID
	s.nextID++
	s.droplets[id] = &droplet{id: id, spec: spec}
	return id
}

// Droplets returns every stored droplet as of now, ordered by ID. A deleted
// droplet is listed until Options.DeleteDelay has passed.
func (s *Server) Droplets() []DropletInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(s.opts.Now())
	out := make([]DropletInfo, 0, len(s.droplets))
	for _, d := range s.droplets {
		out = append(out, d.info())
	}
	slices.SortFunc(out, func(a, b DropletInfo) int { return a.ID - b.ID })
	return out
}

// UserData returns the user_data a droplet was created with; "" for a
// seeded or unknown droplet.
func (s *Server) UserData(id int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.droplets[id]; ok {
		return d.userData
	}
	return ""
}

// listDroplets answers GET /v2/droplets, filtered by tag_name when given.
func (s *Server) listDroplets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tag := q.Get("tag_name")
	s.mu.Lock()
	var all []dropletJSON
	for _, d := range s.droplets {
		if tag == "" || slices.Contains(d.spec.Tags, tag) {
			all = append(all, d.json())
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b dropletJSON) int { return a.ID - b.ID })
	writePage(s, w, r, "droplets", all)
}

// getDroplet answers GET /v2/droplets/{id}.
func (s *Server) getDroplet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	d, ok := s.dropletAt(r)
	var body dropletJSON
	if ok {
		body = d.json()
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", notFoundMessage)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Droplet dropletJSON `json:"droplet"`
	}{body})
}

// deleteDroplet answers DELETE /v2/droplets/{id}: 204, and the droplet
// disappears after Options.DeleteDelay. Deleting it again meanwhile is
// another 204.
func (s *Server) deleteDroplet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	d, ok := s.dropletAt(r)
	if ok && d.deleteAt.IsZero() {
		d.deleteAt = s.opts.Now().Add(s.scaled(s.opts.DeleteDelay))
		s.deleting++
		s.settle(s.opts.Now())
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", notFoundMessage)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// dropletAt returns the droplet the {id} path value names. Callers hold s.mu.
func (s *Server) dropletAt(r *http.Request) (*droplet, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		return nil, false
	}
	d, ok := s.droplets[id]
	return d, ok
}

// settle applies what the clock says has happened by now: actions that
// completed (a create's makes the droplet active with its addresses) and
// deletions that landed. Callers hold s.mu.
func (s *Server) settle(now time.Time) {
	running := s.running[:0]
	for _, a := range s.running {
		if now.Before(a.doneAt) {
			running = append(running, a)
			continue
		}
		a.status = "completed"
		d, ok := s.droplets[a.dropletID]
		if !ok {
			continue
		}
		d.pending = nil
		if a.typ == "create" {
			d.spec.IPv4, d.spec.IPv6 = d.ipv4, d.ipv6
		}
		if a.toStatus != "" {
			d.spec.Status = a.toStatus
		}
	}
	clear(s.running[len(running):])
	s.running = running
	if s.deleting == 0 {
		return
	}
	for id, d := range s.droplets {
		if !d.deleteAt.IsZero() && !now.Before(d.deleteAt) {
			delete(s.droplets, id)
			s.deleting--
		}
	}
}
