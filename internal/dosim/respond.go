package dosim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

const notFoundMessage = "The resource you were accessing could not be found."

// apiError is DO's error body. request_id repeats the X-Request-Id header,
// as the real API does.
type apiError struct {
	ID        string `json:"id"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, id, message string) {
	writeJSON(w, status, apiError{ID: id, Message: message, RequestID: w.Header().Get("X-Request-Id")})
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Pagination as DO does it: page from 1, per_page default 20 and at most 200.
const (
	defaultPerPage = 20
	maxPerPage     = 200
)

// writePage answers 200 with the page of all that r asks for, under key,
// and the links and meta of a v2 list. An empty page is [] rather than
// null, as DO writes it.
func writePage[T any](s *Server, w http.ResponseWriter, r *http.Request, key string, all []T) {
	p := pageOf(r.URL.Query())
	lo, hi := p.bounds(len(all))
	writeJSON(w, http.StatusOK, map[string]any{
		key:     append([]T{}, all[lo:hi]...),
		"links": s.linksFor(r, p, len(all)),
		"meta":  meta{Total: len(all)},
	})
}

// page is one page of a list request.
type page struct {
	number, perPage int
}

// pageOf reads page and per_page the way DO treats them: anything missing
// or unusable falls back to the defaults, and per_page is capped.
func pageOf(q url.Values) page {
	p := page{number: 1, perPage: defaultPerPage}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		p.number = n
	}
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		p.perPage = min(n, maxPerPage)
	}
	return p
}

// bounds returns the slice indexes of this page within total items.
func (p page) bounds(total int) (lo, hi int) {
	lo = min((p.number-1)*p.perPage, total)
	hi = min(lo+p.perPage, total)
	return lo, hi
}

// links is DO's "links" object. Pages is omitted when everything fits on
// one page, which godo reads as the last page.
type links struct {
	Pages *pageLinks `json:"pages,omitempty"`
}

type pageLinks struct {
	First string `json:"first,omitempty"`
	Prev  string `json:"prev,omitempty"`
	Next  string `json:"next,omitempty"`
	Last  string `json:"last,omitempty"`
}

// meta is DO's "meta" object.
type meta struct {
	Total int `json:"total"`
}

// linksFor builds the links for page p of total items. Like DO, the first
// page has no first/prev and the last page has no next/last; the URLs keep
// the request's other query parameters.
func (s *Server) linksFor(r *http.Request, p page, total int) links {
	last := max(1, (total+p.perPage-1)/p.perPage)
	if total <= p.perPage && p.number == 1 {
		return links{}
	}
	at := func(n int) string {
		q := cloneValues(r.URL.Query())
		q.Set("page", strconv.Itoa(n))
		q.Set("per_page", strconv.Itoa(p.perPage))
		return s.url + r.URL.Path[1:] + "?" + q.Encode()
	}
	pl := &pageLinks{}
	if p.number > 1 {
		pl.First, pl.Prev = at(1), at(p.number-1)
	}
	if p.number < last {
		pl.Next, pl.Last = at(p.number+1), at(last)
	}
	return links{Pages: pl}
}
