package tasks

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSS(t *testing.T) {
	out := "LISTEN 0      5            0.0.0.0:8888      0.0.0.0:*    users:((\"python3\",pid=1234,fd=3))\n" +
		"LISTEN 0      128          [::]:22           [::]:*\n" +
		"LISTEN 0      4096   127.0.0.53%lo:53        0.0.0.0:*\n" +
		"garbage line\n"
	got := parseSS(out)
	want := []Listener{{"0.0.0.0", 8888, "python3", 1234}, {"::", 22, "", 0}, {"127.0.0.53", 53, "", 0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseSS = %+v, want %+v", got, want)
	}
}

func TestParseDockerPS(t *testing.T) {
	out := "lab\t0.0.0.0:8888->8888/tcp, :::8888->8888/tcp, 9000/tcp\nsafe\t127.0.0.1:5432->5432/tcp\n"
	got := parseDockerPS(out)
	want := []Published{{"lab", "0.0.0.0", 8888, 8888}, {"lab", "::", 8888, 8888}, {"safe", "127.0.0.1", 5432, 5432}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseDockerPS = %+v, want %+v", got, want)
	}
}

func TestFindCulpritsPrefersContainer(t *testing.T) {
	out := "--- ss ---\nLISTEN 0 5 0.0.0.0:8888 0.0.0.0:* users:((\"docker-proxy\",pid=77,fd=4))\n" +
		"LISTEN 0 5 0.0.0.0:9999 0.0.0.0:* users:((\"nc\",pid=88,fd=3))\n" +
		"--- docker ---\nlab\t0.0.0.0:8888->8888/tcp, :::8888->8888/tcp\n--- ps ---\n   88 cicf  0.0 12 nc\n"
	m := findCulprits(out)
	if got := m[8888].what; !strings.Contains(got, "publishes 0.0.0.0:8888->8888") {
		t.Errorf("culprit of 8888 = %q, want the IPv4 entry Docker lists first", got)
	}
	if got, want := m[8888].fix, "publish it on 127.0.0.1 only: -p 127.0.0.1:8888:8888"; got != want {
		t.Errorf("fix for 8888 = %q, want %q", got, want)
	}
	if got, want := m[9999].what, "process nc (pid 88, user cicf, listening on 0.0.0.0)"; got != want {
		t.Errorf("culprit of 9999 = %q, want %q", got, want)
	}
}

func TestCPUPercent(t *testing.T) {
	ts := parseProcStat("cpu  100 0 100 800 0 0 0 0 0 0\ncpu  250 0 150 900 0 0 0 0 0 0\n")
	if len(ts) != 2 {
		t.Fatalf("parseProcStat: %d samples, want 2", len(ts))
	}
	got, ok := cpuPercent(ts[0], ts[1])
	if !ok || got != 200.0/3 {
		t.Errorf("cpuPercent = %v, %v; want %v, true", got, ok, 200.0/3)
	}
	if _, ok := cpuPercent(ts[1], ts[0]); ok {
		t.Errorf("cpuPercent of a backward interval ok, want false")
	}
}

func TestParseDFAndMeminfo(t *testing.T) {
	if got, ok := parseDF("Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda1 100 96 4 96% /\n"); !ok || got != 96 {
		t.Errorf("parseDF = %v, %v; want 96, true", got, ok)
	}
	if got, ok := parseMeminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 250 kB\n"); !ok || got != 75 {
		t.Errorf("parseMeminfo = %v, %v; want 75, true", got, ok)
	}
}

// FuzzParsers feeds outside text to every parser of VM answers: none may
// panic, and what they return stays in range.
func FuzzParsers(f *testing.F) {
	for _, s := range []string{
		"LISTEN 0 5 0.0.0.0:8888 0.0.0.0:* users:((\"python3\",pid=1234,fd=3))",
		"lab\t0.0.0.0:8888->8888/tcp, :::8888->8888/tcp",
		"cpu  1 2 3 4 5 6 7 8\ncpu  18446744073709551615 1 1 1 1",
		"/dev/vda1 100 96 4 96% /", "MemTotal: 1 kB\nMemAvailable: 2 kB", "0.5 0.3 0.1 1/100 42",
		"--- ss ---\n--- ps ---\n 1 root 99.9 5 x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range parseSS(s) {
			if l.Port < 1 || l.Port > 65535 || l.PID < 0 {
				t.Errorf("parseSS(%q) gave %+v", s, l)
			}
		}
		for _, p := range parseDockerPS(s) {
			if p.HostPort < 1 || p.HostPort > 65535 || p.ContainerPort < 1 || p.ContainerPort > 65535 {
				t.Errorf("parseDockerPS(%q) gave %+v", s, p)
			}
		}
		ts := parseProcStat(s)
		if len(ts) >= 2 {
			if v, ok := cpuPercent(ts[0], ts[1]); ok && (v < 0 || v > 100) {
				t.Errorf("cpuPercent from %q = %v", s, v)
			}
		}
		if v, ok := parseDF(s); ok && (v < 0 || v > 100) {
			t.Errorf("parseDF(%q) = %v", s, v)
		}
		if v, ok := parseMeminfo(s); ok && (v < 0 || v > 100) {
			t.Errorf("parseMeminfo(%q) = %v", s, v)
		}
		_ = parsePS(s)
		_ = findCulprits(s)
	})
}
