package dosim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
)

// createRequest is the body of POST /v2/droplets, as godo sends it.
type createRequest struct {
	Name       string          `json:"name"`
	Region     string          `json:"region"`
	Size       string          `json:"size"`
	Image      json.RawMessage `json:"image"` // a slug or a numeric ID
	Tags       []string        `json:"tags"`
	UserData   string          `json:"user_data"`
	IPv6       bool            `json:"ipv6"`
	Monitoring bool            `json:"monitoring"`
}

// maxUserData is DO's limit on user_data.
const maxUserData = 64 << 10

var (
	hostnameRE = regexp.MustCompile(`^[a-zA-Z0-9.-]+$`)
	tagRE      = regexp.MustCompile(`^[a-zA-Z0-9_:-]{1,255}$`)
)

// validate checks req as DO does, in DO's order, and returns the image
// slug or the 422 message.
func (req *createRequest) validate() (image string, msg string) {
	switch {
	case req.Name == "":
		return "", "Name is required."
	case len(req.Name) > 255 || !hostnameRE.MatchString(req.Name):
		return "", "Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)"
	}
	if _, ok := regions[req.Region]; !ok {
		return "", "You specified an invalid region for Droplet creation."
	}
	if _, ok := sizes[req.Size]; !ok {
		return "", "You specified an invalid size for Droplet creation."
	}
	image, ok := imageSlug(req.Image)
	if !ok {
		return "", "You specified an invalid image for Droplet creation."
	}
	for _, t := range req.Tags {
		if !tagRE.MatchString(t) {
			return "", "Tag names may only contain letters, numbers, colons, dashes, and underscores; and may not exceed 255 characters."
		}
	}
	if len(req.UserData) > maxUserData {
		return "", "user_data has a maximum size of 64 KiB."
	}
	return image, ""
}

// imageSlug resolves the image field, a slug or an ID, to a known slug.
func imageSlug(raw json.RawMessage) (string, bool) {
	var slug string
	if json.Unmarshal(raw, &slug) == nil {
		_, ok := images[slug]
		return slug, ok
	}
	var id int
	if json.Unmarshal(raw, &id) == nil {
		for slug, img := range images {
			if img.id == id {
				return slug, true
			}
		}
	}
	return "", false
}

// createDroplet answers POST /v2/droplets: 202 with the droplet as "new",
// without addresses, and a link to its create action, which completes
// after Options.BootDelay.
func (s *Server) createDroplet(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if !decodeBody(w, r, &req) {
		return
	}
	image, msg := req.validate()
	if msg != "" {
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", msg)
		return
	}

	s.mu.Lock()
	id := s.nextID
	s.nextID++
	n := s.nextAddr
	s.nextAddr++
	s.mu.Unlock()

	var ipv4, ipv6 string
	if s.opts.AssignIP != nil {
		ipv4, ipv6 = s.opts.AssignIP(req.Name, id)
	} else {
		ipv4, ipv6 = defaultAddrs(n)
	}
	if !req.IPv6 {
		ipv6 = ""
	}

	now := s.opts.Now()
	d := &droplet{
		id: id,
		spec: DropletSpec{
			Name: req.Name, Status: "new", Tags: slices.Clone(req.Tags),
			Region: req.Region, Size: req.Size, Image: image, CreatedAt: now,
		},
		userData: req.UserData,
		ipv4:     ipv4, ipv6: ipv6,
	}
	s.mu.Lock()
	s.droplets[id] = d
	a := s.startAction(d, "create", "active", now, s.scaled(s.opts.BootDelay))
	body, info, act := d.json(), d.info(), a.json()
	s.mu.Unlock()

	if s.opts.OnCreate != nil {
		s.opts.OnCreate(info)
	}
	link := actionLink{ID: act.ID, Rel: "create", HREF: fmt.Sprintf("%sv2/actions/%d", s.url, act.ID)}
	writeJSON(w, http.StatusAccepted, struct {
		Droplet dropletJSON `json:"droplet"`
		Links   actionLinks `json:"links"`
	}{body, actionLinks{Actions: []actionLink{link}}})
}

// actionLinks is the "links" object of an answer that started actions.
type actionLinks struct {
	Actions []actionLink `json:"actions"`
}

type actionLink struct {
	ID   int    `json:"id"`
	Rel  string `json:"rel"`
	HREF string `json:"href"`
}

// defaultAddrs returns the n-th droplet's addresses: one out of
// 198.18.0.0/15 (the benchmarking range; 198.18.0.x is left to seeds) and
// one out of 2001:db8::/32 (documentation).
func defaultAddrs(n int) (ipv4, ipv6 string) {
	host := n%250 + 2
	subnet := 1 + n/250 // 198.18.1.0 upwards, into 198.19 after 198.18.255
	ipv4 = fmt.Sprintf("198.%d.%d.%d", 18+subnet/256%2, subnet%256, host)
	ipv6 = fmt.Sprintf("2001:db8:%x::%x", subnet, host)
	return ipv4, ipv6
}
