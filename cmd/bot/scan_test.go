package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestParseTargets(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []string // nil: an error
	}{
		{[]string{"198.18.1.2"}, []string{"198.18.1.2"}},
		{[]string{"198.18.1.2-4"}, []string{"198.18.1.2", "198.18.1.3", "198.18.1.4"}},
		{[]string{"198.18.1.7-7"}, []string{"198.18.1.7"}},
		{[]string{"198.18.1.0/30"}, []string{"198.18.1.0", "198.18.1.1", "198.18.1.2", "198.18.1.3"}},
		{[]string{"198.18.1.5/31"}, []string{"198.18.1.4", "198.18.1.5"}},
		{[]string{"alice.cicf.cloud", "::1"}, []string{"alice.cicf.cloud", "::1"}},
		{[]string{"198.18.1.5-4"}, nil},
		{[]string{"198.18.1.5-256"}, nil},
		{[]string{"198.18.1.5-07"}, nil},
		{[]string{"198.18.0.0/8"}, nil},
		{[]string{"198.18.1"}, nil},
		{[]string{"198.18.1.300"}, nil},
		{[]string{"bad_name"}, nil},
		{[]string{"-x.cloud"}, nil},
		{[]string{"a;rm -rf"}, nil},
		{[]string{""}, nil},
	} {
		got, err := parseTargets(tc.in)
		if tc.want == nil {
			if err == nil {
				t.Errorf("parseTargets(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("parseTargets(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := parseTargets([]string{"198.18.0.0/16", "198.19.0.0/16"}); err == nil {
		t.Errorf("two /16s: want the %d-address limit", maxTargets)
	}
}

func TestParsePorts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		ok   bool
	}{
		{"top1000", nil, true},
		{"22,80,443", []int{22, 80, 443}, true},
		{"8000-8002,22", []int{22, 8000, 8001, 8002}, true},
		{"22,22,21-23", []int{21, 22, 23}, true},
		{"65535", []int{65535}, true},
		{"0", nil, false},
		{"65536", nil, false},
		{"80-22", nil, false},
		{"22,", nil, false},
		{"+22", nil, false},
		{"http", nil, false},
	} {
		got, err := parsePorts(tc.in)
		if (err == nil) != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("parsePorts(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if all, err := parsePorts("all"); err != nil || len(all) != 65535 || all[0] != 1 || all[65534] != 65535 {
		t.Errorf("all: %d ports, %v", len(all), err)
	}
}

// FuzzParseTargets checks that whatever parses expands only to addresses or
// host names that are safe to print and resolve.
func FuzzParseTargets(f *testing.F) {
	for _, s := range []string{"198.18.1.2", "198.18.1.2-101", "198.18.1.0/24", "alice.cicf.cloud", "::1", "1.2.3.4-", "a..b", "198.18.1.5-256"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTargets([]string{s})
		if err != nil {
			return
		}
		if len(got) == 0 || len(got) > maxTargets {
			t.Fatalf("%q expanded to %d targets", s, len(got))
		}
		for _, g := range got {
			if _, err := netip.ParseAddr(g); err != nil && !isHostName(g) {
				t.Fatalf("%q gave %q", s, g)
			}
		}
	})
}

func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"22", "22,80", "1-65535", "80-22", "top1000", ",", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parsePorts(s)
		if err != nil {
			return
		}
		for _, p := range got {
			if p < 1 || p > 65535 {
				t.Fatalf("%q gave port %d", s, p)
			}
		}
	})
}

func TestScanCommand(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	var out, errb bytes.Buffer
	if code := run([]string{"scan", "--json", "--ports", "1," + itoa(port), "127.0.0.1"}, nil, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got hostJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v: %q", err, out.String())
	}
	if got.Host != "127.0.0.1" || !slices.Equal(got.Open, []int{port}) || got.Closed != 1 {
		t.Errorf("got %+v, want port %d open and 1 closed", got, port)
	}
	for _, args := range [][]string{{"scan"}, {"scan", "198.18.1.9-2"}, {"scan", "--ports", "x", "127.0.0.1"},
		{"scan", "--sockets", "0", "127.0.0.1"}, {"scan", "--bogus", "127.0.0.1"}, {"scan", "--ports"}} {
		errb.Reset()
		code := run(args, nil, nil, &out, &errb)
		if e := errb.String(); code != 2 || strings.Count(e, "\n") != 1 || !strings.Contains(e, "usage: cicf-bot scan") {
			t.Errorf("%q: exit %d, %q; want 2 and one line with the usage", args, code, e)
		}
	}
	out.Reset()
	if code := run([]string{"scan", "-h"}, nil, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "TARGET: a host name") {
		t.Errorf("scan -h: exit %d, %q; want 0 and the usage", code, out.String())
	}
}

func TestSocketBudget(t *testing.T) {
	if got := socketBudget(10); got != 10 {
		t.Errorf("socketBudget(10) = %d, want 10", got)
	}
	var lim syscall.Rlimit
	got := socketBudget(1 << 30)
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur != lim.Max || got != int(min(lim.Cur, 1<<20))-64 {
		t.Errorf("socketBudget(huge) = %d with limit %d/%d; want the hard limit less 64", got, lim.Cur, lim.Max)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestScanTableAndProgress: without --json a table; a scan of 20000
// probes or more reports progress on stderr, then the summary line.
func TestScanTableAndProgress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	lo := 1024 // 20000 ports besides the listener's
	if port <= 21024 {
		lo = port + 1
	}
	var out, errb bytes.Buffer
	if code := run([]string{"scan", "--ports", itoa(lo) + "-" + itoa(lo+19999) + "," + itoa(port), "127.0.0.1"}, nil, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || strings.Fields(lines[0])[0] != "HOST" || strings.Fields(lines[1])[0] != "127.0.0.1" ||
		!slices.Contains(strings.Split(strings.Fields(lines[1])[1], ","), itoa(port)) {
		t.Errorf("table = %q, want a header and 127.0.0.1 with %d open", out.String(), port)
	}
	if e := errb.String(); !strings.Contains(e, "scanning 1 hosts: 100% of 20001 probes") || !strings.Contains(e, "1 hosts, 20001 ports each") {
		t.Errorf("stderr = %q, want progress to 100%% and the summary", e)
	}
}
