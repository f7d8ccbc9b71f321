package tasks

import "context"

// PortScanner scans a VM's TCP ports from outside, as an attacker on the
// internet would: the firewall check compares what it finds with the
// class's allowed ports. probe.Scanner implements it.
type PortScanner interface {
	// ScanPorts returns, for each address in addrs, the TCP ports among
	// ports that accepted a connection, ascending (an address with none
	// maps to an empty slice). ports nil means nmap's top 1000 TCP ports.
	// It returns EUNAVAILABLE when the scan could not be carried out (no
	// route, no sockets), never a partial answer as if complete.
	ScanPorts(ctx context.Context, addrs []string, ports []int) (map[string][]int, error)
}
