package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/cicf/cicf-bot/probe"
)

const scanSynopsis = "usage: cicf-bot scan [--ports top1000|all|LIST] [--json] [--sockets N] TARGET..."

const scanUsage = scanSynopsis + "\n" +
	"  TARGET: a host name, an address, a CIDR (198.18.1.0/24) or a last-octet range (198.18.1.2-101)\n" +
	"  LIST: ports and ranges, e.g. 22,80,8000-8100\n"

// maxTargets bounds how many addresses one scan may expand to, so a typo
// like /8 is an error rather than a 16-million-host scan.
const maxTargets = 65536

// runScan is `cicf-bot scan`: it needs no tokens or configuration.
func runScan(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // its errors are reported below, on one line
	fs.Usage = func() {}
	portsFlag := fs.String("ports", "top1000", "top1000, all, or a list such as 22,80,8000-8100")
	asJSON := fs.Bool("json", false, "one JSON object per host per line")
	sockets := fs.Int("sockets", 8000, "connections in flight at most (lowered to fit the open-file limit)")
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, scanUsage)
		return 0
	}
	var ports []int
	if err == nil {
		ports, err = parsePorts(*portsFlag)
	}
	if err == nil && *sockets < 1 {
		err = fmt.Errorf("--sockets %d: type a number of sockets of 1 or more", *sockets)
	}
	if err == nil && fs.NArg() == 0 {
		err = errors.New("name at least one TARGET")
	}
	var targets []string
	if err == nil {
		targets, err = parseTargets(fs.Args())
	}
	if err != nil {
		// One line: what was wrong, and what to type.
		fmt.Fprintf(stderr, "cicf-bot scan: %v (%s)\n", err, scanSynopsis)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addrs, err := resolveTargets(ctx, targets)
	if err != nil {
		fmt.Fprintf(stderr, "cicf-bot scan: %v\n", err)
		return 2
	}
	var progress func(done, total int)
	nPorts := len(ports)
	if ports == nil {
		nPorts = len(probe.TopPorts())
	}
	if total := len(addrs) * nPorts; total >= 20000 {
		last := -1
		progress = func(done, total int) {
			if pct := done * 100 / total; pct/5 != last/5 {
				last = pct
				fmt.Fprintf(stderr, "\rscanning %d hosts: %3d%% of %d probes", len(addrs), pct, total)
				if done == total {
					fmt.Fprintln(stderr)
				}
			}
		}
	}
	sc := &probe.Scanner{MaxSockets: socketBudget(*sockets)}
	start := time.Now()
	res, err := sc.Scan(ctx, addrs, ports, progress)
	if err != nil {
		fmt.Fprintf(stderr, "cicf-bot scan: %v\n", err)
		return 1
	}
	nOpen := 0
	for _, r := range res {
		nOpen += len(r.Open)
	}
	// A fixed shape: bench/scan reads the peak from it.
	fmt.Fprintf(stderr, "cicf-bot scan: %d hosts, %d ports each, in %.2fs: %d open; peak %d sockets in flight (at most %d)\n",
		len(addrs), nPorts, time.Since(start).Seconds(), nOpen, sc.PeakSockets(), sc.MaxSockets)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range res {
			enc.Encode(hostJSON{Host: r.Host, Open: r.Open, Closed: r.Closed, Filtered: r.Filtered,
				RTTMillis: float64(r.SRTT.Microseconds()) / 1000})
		}
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tOPEN\tCLOSED\tFILTERED\tRTT")
	for _, r := range res {
		open := make([]string, len(r.Open))
		for i, p := range r.Open {
			open[i] = strconv.Itoa(p)
		}
		o := strings.Join(open, ",")
		if o == "" {
			o = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", r.Host, o, r.Closed, r.Filtered, r.SRTT.Round(time.Microsecond))
	}
	tw.Flush()
	return 0
}

// socketBudget raises this process's soft open-file limit to the hard one
// (the scan is the whole process; the library leaves limits alone) and
// returns want, lowered to leave room for the process's other files.
func socketBudget(want int) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return min(want, probe.DefaultMaxSockets)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) // on failure the old limit stands, read below
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	return max(1, min(want, int(min(lim.Cur, 1<<20))-64))
}

// hostJSON is one line of `scan --json`.
type hostJSON struct {
	Host      string  `json:"host"`
	Open      []int   `json:"open"`
	Closed    int     `json:"closed"`
	Filtered  int     `json:"filtered"`
	RTTMillis float64 `json:"rtt_ms"`
}

// parsePorts reads --ports: top1000 (nil, the scanner's default), all, or a
// comma-separated list of ports and ranges, returned sorted without
// duplicates.
func parsePorts(s string) ([]int, error) {
	switch s {
	case "top1000":
		return nil, nil
	case "all":
		return portRange(1, 65535), nil
	}
	var ports []int
	for _, item := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(item, "-")
		lo, err := portNumber(a)
		hi := lo
		if err == nil && isRange {
			hi, err = portNumber(b)
		}
		if err == nil && hi < lo {
			err = fmt.Errorf("%q: the range runs backwards", item)
		}
		if err != nil {
			return nil, fmt.Errorf("bad --ports %q: %v; type top1000, all or a list like 22,80,8000-8100", s, err)
		}
		ports = append(ports, portRange(lo, hi)...)
	}
	// Sorted and once each, so the counts shown are the probes made.
	slices.Sort(ports)
	return slices.Compact(ports), nil
}

func portNumber(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 || s != strconv.Itoa(p) {
		return 0, fmt.Errorf("%q is not a port 1-65535", s)
	}
	return p, nil
}

func portRange(lo, hi int) []int {
	ports := make([]int, 0, hi-lo+1)
	for p := lo; p <= hi; p++ {
		ports = append(ports, p)
	}
	return ports
}

// parseTargets expands addresses, CIDRs and last-octet ranges to addresses,
// and keeps host names as they are, for resolveTargets.
func parseTargets(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		got, err := parseTarget(a)
		if err != nil {
			return nil, err
		}
		if len(out)+len(got) > maxTargets {
			return nil, fmt.Errorf("more than %d addresses; scan a smaller range", maxTargets)
		}
		out = append(out, got...)
	}
	return out, nil
}

func parseTarget(a string) ([]string, error) {
	if ip, err := netip.ParseAddr(a); err == nil {
		return []string{ip.String()}, nil
	}
	if pfx, err := netip.ParsePrefix(a); err == nil {
		if pfx.Addr().BitLen()-pfx.Bits() > 16 {
			return nil, fmt.Errorf("%q is too large; use a /16 or smaller", a)
		}
		var out []string
		for ip := pfx.Masked().Addr(); pfx.Contains(ip); ip = ip.Next() {
			out = append(out, ip.String())
		}
		return out, nil
	}
	if i := strings.LastIndexByte(a, '-'); i > 0 && strings.Count(a, ".") == 3 {
		ip, err := netip.ParseAddr(a[:i])
		last, err2 := strconv.Atoi(a[i+1:])
		if err == nil && ip.Is4() && err2 == nil && a[i+1:] == strconv.Itoa(last) {
			b := ip.As4()
			if int(b[3]) > last || last > 255 {
				return nil, fmt.Errorf("%q: the last octet must run upwards to at most 255", a)
			}
			var out []string
			for o := int(b[3]); o <= last; o++ {
				b[3] = byte(o)
				out = append(out, netip.AddrFrom4(b).String())
			}
			return out, nil
		}
	}
	if isHostName(a) {
		return []string{a}, nil
	}
	return nil, fmt.Errorf("%q is not a host name, address, CIDR (198.18.1.0/24) or range (198.18.1.2-101)", a)
}

// isHostName reports a DNS name of letters, digits and hyphens whose last
// label is not a number, so a mistyped address or range is not taken for a
// name.
func isHostName(s string) bool {
	labels := strings.Split(strings.TrimSuffix(s, "."), ".")
	if s == "" || len(s) > 253 || strings.Trim(labels[len(labels)-1], "0123456789-") == "" {
		return false
	}
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				return false
			}
		}
	}
	return true
}

// resolveTargets replaces host names with their first address.
func resolveTargets(ctx context.Context, targets []string) ([]string, error) {
	out := make([]string, 0, len(targets))
	for _, t := range targets {
		if _, err := netip.ParseAddr(t); err == nil {
			out = append(out, t)
			continue
		}
		addrs, err := net.DefaultResolver.LookupHost(ctx, t)
		if err != nil || len(addrs) == 0 {
			return nil, fmt.Errorf("cannot resolve %q: %v", t, err)
		}
		out = append(out, addrs[0])
	}
	return out, nil
}
