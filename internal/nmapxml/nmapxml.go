// Package nmapxml reads nmap's XML output (-oX), the reference the port
// scanner is compared against in tests and benchmarks.
package nmapxml

import (
	"encoding/xml"
	"fmt"
	"slices"
)

// run is the part of <nmaprun> that OpenPorts reads.
type run struct {
	Hosts []struct {
		// A host on the local link may also carry its MAC address
		// (addrtype="mac"), so the addresses are read as a list.
		Addrs []struct {
			Addr string `xml:"addr,attr"`
			Type string `xml:"addrtype,attr"`
		} `xml:"address"`
		Ports []struct {
			ID    int `xml:"portid,attr"`
			State struct {
				State string `xml:"state,attr"`
			} `xml:"state"`
		} `xml:"ports>port"`
	} `xml:"host"`
}

// PortStates returns, for each host in nmap's XML output, its IP address
// mapped to the state nmap gave each port it listed ("open", "closed",
// "filtered", "open|filtered", …); ports nmap summed up in <extraports>
// are not listed. It returns an error if out is not nmap XML or a host
// has no IP address.
func PortStates(out []byte) (map[string]map[int]string, error) {
	var r run
	if err := xml.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("nmap -oX: %w", err)
	}
	got := make(map[string]map[int]string, len(r.Hosts))
	for i, h := range r.Hosts {
		ip := ""
		for _, a := range h.Addrs {
			if a.Type == "ipv4" || a.Type == "ipv6" {
				ip = a.Addr
				break
			}
		}
		if ip == "" {
			return nil, fmt.Errorf("nmap -oX: host %d has no IP address", i+1)
		}
		states := make(map[int]string, len(h.Ports))
		for _, p := range h.Ports {
			states[p.ID] = p.State.State
		}
		got[ip] = states
	}
	return got, nil
}

// OpenPorts returns, for each host in nmap's XML output, its IP address
// mapped to the ports nmap found open, in ascending order; a host with
// none maps to an empty, non-nil slice, so "scanned, nothing open" differs
// from "not scanned". Its errors are PortStates'.
func OpenPorts(out []byte) (map[string][]int, error) {
	states, err := PortStates(out)
	if err != nil {
		return nil, err
	}
	got := make(map[string][]int, len(states))
	for ip, ports := range states {
		open := []int{}
		for p, state := range ports {
			if state == "open" {
				open = append(open, p)
			}
		}
		slices.Sort(open)
		got[ip] = open
	}
	return got, nil
}
