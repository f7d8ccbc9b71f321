package dosim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// zone is a domain in the account with its records.
type zone struct {
	name    string
	records map[int]*record
}

// record is a stored DNS record; Name is relative to the domain ("@" for
// the domain itself), as DO stores it.
type record struct {
	ID       int    `json:"id"`
	Type     string `json:"type"`
	Name     string `json:"name"`
	Data     string `json:"data"`
	Priority int    `json:"priority"`
	Port     int    `json:"port"`
	TTL      int    `json:"ttl"`
	Weight   int    `json:"weight"`
	Flags    int    `json:"flags"`
	Tag      string `json:"tag"`
}

// RecordInfo is what tests see of a stored record.
type RecordInfo struct {
	ID   int
	Type string
	Name string // relative, e.g. "emma"; "@" for the domain itself
	Data string
	TTL  int
}

// AddDomain adds a domain to the account, with the NS and SOA records DO
// creates with it. Adding it again does nothing.
func (s *Server) AddDomain(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.domains[name]; ok {
		return
	}
	z := &zone{name: name, records: map[int]*record{}}
	s.domains[name] = z
	for _, ns := range []string{"ns1.digitalocean.com", "ns2.digitalocean.com", "ns3.digitalocean.com"} {
		s.addRecord(z, record{Type: "NS", Name: "@", Data: ns, TTL: 1800})
	}
	s.addRecord(z, record{Type: "SOA", Name: "@", Data: "1800", TTL: 1800})
}

// AddRecord stores rec in domain as given, duplicates included, and returns
// its ID; 0 if the domain does not exist. A TTL of 0 becomes DO's 1800.
func (s *Server) AddRecord(domain string, rec RecordInfo) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.domains[domain]
	if !ok {
		return 0
	}
	if rec.TTL == 0 {
		rec.TTL = 1800
	}
	return s.addRecord(z, record{Type: rec.Type, Name: rec.Name, Data: rec.Data, TTL: rec.TTL}).ID
}

// Records returns the domain's records ordered by ID; nil if the domain
// does not exist.
func (s *Server) Records(domain string) []RecordInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.domains[domain]
	if !ok {
		return nil
	}
	out := []RecordInfo{}
	for _, rec := range z.sorted() {
		out = append(out, RecordInfo{ID: rec.ID, Type: rec.Type, Name: rec.Name, Data: rec.Data, TTL: rec.TTL})
	}
	return out
}

// addRecord stores a copy of rec with a new ID. Callers hold s.mu.
func (s *Server) addRecord(z *zone, rec record) record {
	rec.ID = s.nextRecordID
	s.nextRecordID++
	z.records[rec.ID] = &rec
	return rec
}

func (z *zone) sorted() []record {
	out := make([]record, 0, len(z.records))
	for _, rec := range z.records {
		out = append(out, *rec)
	}
	slices.SortFunc(out, func(a, b record) int { return a.ID - b.ID })
	return out
}

// fqdn is the record's fully qualified name, which the name filter takes.
func (z *zone) fqdn(name string) string {
	if name == "@" {
		return z.name
	}
	return name + "." + z.name
}

// zoneAt returns the zone the {domain} path value names. Callers hold s.mu.
func (s *Server) zoneAt(r *http.Request) (*zone, bool) {
	z, ok := s.domains[r.PathValue("domain")]
	return z, ok
}

// listRecords answers GET /v2/domains/{domain}/records, filtered by name
// (fully qualified, as DO wants it) and type when given.
func (s *Server) listRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name, typ := q.Get("name"), q.Get("type")
	s.mu.Lock()
	z, ok := s.zoneAt(r)
	var all []record
	if ok {
		for _, rec := range z.sorted() {
			if (name == "" || z.fqdn(rec.Name) == name) && (typ == "" || rec.Type == typ) {
				all = append(all, rec)
			}
		}
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", notFoundMessage)
		return
	}
	writePage(s, w, r, "domain_records", all)
}

// createRecord answers POST /v2/domains/{domain}/records with 201.
func (s *Server) createRecord(w http.ResponseWriter, r *http.Request) {
	var req recordRequest
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.zoneAt(r)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", notFoundMessage)
		return
	}
	rec := req.apply(record{}, z.name)
	if rec.TTL == 0 {
		rec.TTL = 1800
	}
	if msg := rec.check(); msg != "" {
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", msg)
		return
	}
	writeRecord(w, http.StatusCreated, s.addRecord(z, rec))
}

// getRecord answers GET /v2/domains/{domain}/records/{id}.
func (s *Server) getRecord(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.recordAt(w, r); ok {
		writeRecord(w, http.StatusOK, *rec)
	}
}

// updateRecord answers PUT and PATCH /v2/domains/{domain}/records/{id}:
// both change only the fields sent. The type cannot change.
func (s *Server) updateRecord(w http.ResponseWriter, r *http.Request) {
	var req recordRequest
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.recordAt(w, r)
	if !ok {
		return
	}
	if req.Type != nil && *req.Type != "" && *req.Type != rec.Type {
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "The type of a record cannot be changed.")
		return
	}
	next := req.apply(*rec, r.PathValue("domain"))
	if msg := next.check(); msg != "" {
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", msg)
		return
	}
	*rec = next
	writeRecord(w, http.StatusOK, next)
}

// deleteRecord answers DELETE /v2/domains/{domain}/records/{id} with 204.
func (s *Server) deleteRecord(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.recordAt(w, r); ok {
		delete(s.domains[r.PathValue("domain")].records, rec.ID)
		w.WriteHeader(http.StatusNoContent)
	}
}

// recordAt returns the record the path names, or answers 404 itself.
// Callers hold s.mu.
func (s *Server) recordAt(w http.ResponseWriter, r *http.Request) (*record, bool) {
	if z, ok := s.zoneAt(r); ok {
		id, _ := strconv.Atoi(r.PathValue("id")) // 0 is no record's ID
		if rec, ok := z.records[id]; ok {
			return rec, true
		}
	}
	writeError(w, http.StatusNotFound, "not_found", notFoundMessage)
	return nil, false
}

func writeRecord(w http.ResponseWriter, status int, rec record) {
	writeJSON(w, status, struct {
		Record record `json:"domain_record"`
	}{rec})
}

// decodeBody reads a JSON body into v, answering 400 itself if it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "Unable to parse the request body: "+err.Error())
		return false
	}
	return true
}

// relativeName stores a name given as an absolute FQDN ("emma.cicf.cloud.")
// relative to domain, as DO does; anything else is already relative.
func relativeName(name, domain string) string {
	abs, ok := strings.CutSuffix(name, ".")
	switch {
	case !ok:
		return name
	case abs == domain:
		return "@"
	default:
		if rel, ok := strings.CutSuffix(abs, "."+domain); ok {
			return rel
		}
		return name
	}
}
