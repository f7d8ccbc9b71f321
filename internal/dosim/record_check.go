package dosim

import (
	"fmt"
	"net/netip"
)

// recordRequest is the body of a record create or update; nil fields were
// not sent.
type recordRequest struct {
	Type     *string `json:"type"`
	Name     *string `json:"name"`
	Data     *string `json:"data"`
	Priority *int    `json:"priority"`
	Port     *int    `json:"port"`
	TTL      *int    `json:"ttl"`
	Weight   *int    `json:"weight"`
	Flags    *int    `json:"flags"`
	Tag      *string `json:"tag"`
}

// apply returns rec with the fields req sent.
func (req recordRequest) apply(rec record, domain string) record {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	setInt := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	set(&rec.Type, req.Type)
	set(&rec.Name, req.Name)
	set(&rec.Data, req.Data)
	set(&rec.Tag, req.Tag)
	setInt(&rec.Priority, req.Priority)
	setInt(&rec.Port, req.Port)
	setInt(&rec.TTL, req.TTL)
	setInt(&rec.Weight, req.Weight)
	setInt(&rec.Flags, req.Flags)
	rec.Name = relativeName(rec.Name, domain)
	return rec
}

// check validates rec as DO does and returns the 422 message, "" if valid.
func (rec record) check() string {
	switch rec.Type {
	case "A", "AAAA", "CAA", "CNAME", "MX", "NS", "SRV", "TXT":
	case "":
		return "Type is required."
	default:
		return fmt.Sprintf("Record type %s is not supported.", rec.Type)
	}
	switch {
	case rec.Name == "":
		return "Name is required."
	case rec.Data == "":
		return "Data is required."
	case rec.TTL < 30:
		return "TTL must be at least 30 seconds."
	}
	ip, err := netip.ParseAddr(rec.Data)
	switch {
	case rec.Type == "A" && (err != nil || !ip.Is4()):
		return "IP address did not match IPv4 format (e.g. 127.0.0.1)."
	case rec.Type == "AAAA" && (err != nil || !ip.Is6() || ip.Is4In6()):
		return "IP address did not match IPv6 format (e.g. 2001:db8::1)."
	}
	return ""
}
