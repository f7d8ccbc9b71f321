package tasks

import (
	"strconv"
	"strings"
	"unicode"
)

// Parsers of what VMs answer. Their input is outside text, from a machine a
// student controls: they never panic, bound what they read, and drop what
// they do not understand rather than guess.

// maxAnswer bounds the bytes of a VM's answer that are parsed; the remote
// commands cut their output to it too.
const maxAnswer = 64 << 10

// maxLines bounds how many lines of one answer are looked at.
const maxLines = 2000

// lines returns the first maxLines lines of the first maxAnswer bytes of s.
func lines(s string) []string {
	if len(s) > maxAnswer {
		s = s[:maxAnswer]
	}
	ls := strings.Split(s, "\n")
	if len(ls) > maxLines {
		ls = ls[:maxLines]
	}
	return ls
}

// cleanText makes a name from the VM safe to show: printable runes only,
// at most 64 of them. Renderers still escape it for mrkdwn.
func cleanText(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == 64 {
			b.WriteString("…")
			break
		}
		if !unicode.IsPrint(r) {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// Listener is one listening TCP socket from `ss -ltnpH`.
type Listener struct {
	Addr    string // local address without port, e.g. 0.0.0.0, ::, 127.0.0.1
	Port    int
	Process string // first process holding it; "" if ss could not tell
	PID     int
}

// parseSS parses `ss -ltnpH`: State Recv-Q Send-Q Local Peer [Process].
func parseSS(out string) []Listener {
	var ls []Listener
	for _, line := range lines(out) {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "LISTEN" {
			continue
		}
		addr, port, ok := splitHostPort(f[3])
		if !ok {
			continue
		}
		l := Listener{Addr: addr, Port: port}
		if len(f) > 5 {
			l.Process, l.PID = parseSSUsers(strings.Join(f[5:], " "))
		}
		ls = append(ls, l)
	}
	return ls
}

// splitHostPort splits ss's local address: 0.0.0.0:22, [::]:22, *:22,
// 127.0.0.53%lo:53, [::ffff:1.2.3.4]:80.
func splitHostPort(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", 0, false
	}
	port, err := strconv.Atoi(s[i+1:])
	if err != nil || port < 1 || port > 65535 {
		return "", 0, false
	}
	host := strings.TrimSuffix(strings.TrimPrefix(s[:i], "["), "]")
	if j := strings.IndexByte(host, '%'); j >= 0 {
		host = host[:j]
	}
	return host, port, true
}

// parseSSUsers reads the first process of users:(("python3",pid=1234,fd=3),...).
func parseSSUsers(s string) (string, int) {
	_, rest, ok := strings.Cut(s, `(("`)
	if !ok {
		return "", 0
	}
	name, rest, ok := strings.Cut(rest, `",pid=`)
	if !ok {
		return "", 0
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(rest)
	}
	pid, err := strconv.Atoi(rest[:end])
	if err != nil || pid <= 0 {
		return cleanText(name), 0
	}
	return cleanText(name), pid
}

// Published is one port a Docker container publishes on the host.
type Published struct {
	Container     string
	HostIP        string // "0.0.0.0", "::" or a specific address
	HostPort      int
	ContainerPort int
}

// parseDockerPS parses `docker ps --format '{{.Names}}\t{{.Ports}}'`, whose
// Ports read "0.0.0.0:8888->8888/tcp, :::8888->8888/tcp, 9000/tcp".
func parseDockerPS(out string) []Published {
	var ps []Published
	for _, line := range lines(out) {
		name, ports, ok := strings.Cut(line, "\t")
		if !ok || name == "" {
			continue
		}
		for _, p := range strings.Split(ports, ",") {
			host, cont, ok := strings.Cut(strings.TrimSpace(p), "->")
			if !ok || !strings.HasSuffix(cont, "/tcp") {
				continue
			}
			addr, hp, ok := splitHostPort(host)
			if !ok {
				continue
			}
			// A range ("8000-8001->8000-8001/tcp") has no single port: the
			// first one names it well enough.
			cs, _, _ := strings.Cut(strings.TrimSuffix(cont, "/tcp"), "-")
			cp, err := strconv.Atoi(cs)
			if err != nil || cp < 1 || cp > 65535 {
				continue
			}
			if addr == "" {
				addr = "::"
			}
			ps = append(ps, Published{Container: cleanText(name), HostIP: addr, HostPort: hp, ContainerPort: cp})
		}
	}
	return ps
}

// cpuTimes is the first "cpu" line of /proc/stat.
type cpuTimes struct{ idle, total uint64 }

// parseProcStat reads the "cpu " lines of /proc/stat, in order.
func parseProcStat(out string) []cpuTimes {
	var ts []cpuTimes
	for _, line := range lines(out) {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "cpu" {
			continue
		}
		var t cpuTimes
		ok := true
		for i, s := range f[1:] {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil || t.total+v < t.total {
				ok = false
				break
			}
			t.total += v
			if i == 3 || i == 4 { // idle and iowait
				t.idle += v
			}
		}
		if ok {
			ts = append(ts, t)
		}
	}
	return ts
}

// cpuPercent returns the busy share of the time between two samples, and
// false when the samples do not make a valid interval.
func cpuPercent(a, b cpuTimes) (float64, bool) {
	if b.total <= a.total || b.idle < a.idle || b.idle-a.idle > b.total-a.total {
		return 0, false
	}
	dt := float64(b.total - a.total)
	return 100 * (dt - float64(b.idle-a.idle)) / dt, true
}

// parseDF returns the use percent of the last filesystem line of `df -P`.
func parseDF(out string) (float64, bool) {
	pct, ok := 0.0, false
	for _, line := range lines(out) {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasSuffix(f[4], "%") {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSuffix(f[4], "%"))
		if err != nil || v < 0 || v > 100 {
			continue
		}
		pct, ok = float64(v), true
	}
	return pct, ok
}

// parseMeminfo returns the used share of memory from /proc/meminfo
// (MemTotal less MemAvailable).
func parseMeminfo(out string) (float64, bool) {
	var total, avail uint64
	for _, line := range lines(out) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "MemTotal:":
			total = v
		case "MemAvailable:":
			avail = v
		}
	}
	if total == 0 || avail > total {
		return 0, false
	}
	return 100 * float64(total-avail) / float64(total), true
}

// parseLoadavg returns the 1-minute load from /proc/loadavg.
func parseLoadavg(out string) (float64, bool) {
	f := strings.Fields(headLine(out))
	if len(f) < 1 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || v < 0 || v > 1e6 {
		return 0, false
	}
	return v, true
}

func headLine(s string) string {
	if ls := lines(s); len(ls) > 0 {
		return ls[0]
	}
	return ""
}

// Process is one line of `ps -eo pid,user:32,pcpu,etimes,comm --no-headers`.
type Process struct {
	PID     int
	User    string
	CPU     float64 // percent of one CPU over the process's life
	Elapsed int     // seconds since it started
	Command string
}

// parsePS parses the process table the resources and firewall checks ask for.
func parsePS(out string) []Process {
	var ps []Process
	for _, line := range lines(out) {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		pid, err1 := strconv.Atoi(f[0])
		cpu, err2 := strconv.ParseFloat(f[2], 64)
		el, err3 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || err3 != nil || pid <= 0 || cpu < 0 || el < 0 {
			continue
		}
		ps = append(ps, Process{PID: pid, User: cleanText(f[1]), CPU: cpu, Elapsed: el, Command: cleanText(strings.Join(f[4:], " "))})
	}
	return ps
}

// sections splits an answer at lines equal to "--- NAME ---" into a map from
// NAME to the text below it; text before the first marker is dropped.
func sections(out string) map[string]string {
	m := map[string]string{}
	cur := ""
	var b strings.Builder
	flush := func() {
		if cur != "" {
			m[cur] = b.String()
		}
		b.Reset()
	}
	for _, line := range lines(out) {
		if n, ok := strings.CutPrefix(line, "--- "); ok && strings.HasSuffix(n, " ---") {
			flush()
			cur = strings.TrimSuffix(n, " ---")
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	flush()
	return m
}
