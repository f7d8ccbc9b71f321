package tasks

import (
	"reflect"
	"testing"
	"time"
)

func TestInhibit(t *testing.T) {
	at := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	res := func(vm, check string, st CheckStatus) Result {
		return Result{VM: vm, Check: check, Status: st, Immediate: st == CheckFail, At: at}
	}
	prev := map[resultKey]Result{
		{"emma", CheckSSH}: res("emma", CheckSSH, CheckFail), // down at the last uptime sweep
		{"ana", CheckSSH}:  res("ana", CheckSSH, CheckFail),  // down then, up now (rs below)
	}
	rs := []Result{
		res("emma", CheckFirewall, CheckFail),
		res("ana", CheckSSH, CheckOK),
		res("ana", CheckHTTPS, CheckFail),
		res("bob", CheckSSH, CheckFail),
		res("bob", CheckHostKey, CheckUnknown),
		res("bob", CheckHTTPS, CheckFail),
		res("zoe", CheckFirewall, CheckFail),
	}
	var got []CheckStatus
	for _, r := range inhibit(rs, prev) {
		got = append(got, r.Status)
	}
	want := []CheckStatus{CheckUnknown, CheckOK, CheckFail, CheckFail, CheckUnknown, CheckUnknown, CheckFail}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("inhibit = %v, want %v", got, want)
	}
	if rs[0].Status != CheckFail {
		t.Error("inhibit changed its input")
	}
}

func TestGroupFailures(t *testing.T) {
	vms := func(n int) []VM {
		out := make([]VM, n)
		for i := range out {
			out[i] = VM{Name: string(rune('a' + i)), IPv4: "198.18.0.1", HostKey: "k", Status: "active"}
		}
		return out
	}
	up := func(name string) VM { return VM{Name: name, IPv4: "198.18.0.9", HostKey: "k", Status: "active"} }
	fails := func(n int, imm bool) []Result {
		var rs []Result
		for i := range n {
			rs = append(rs, Result{VM: string(rune('a' + i)), Check: CheckHTTPS, Status: CheckFail, Immediate: imm && i == 0})
		}
		return rs
	}
	for _, c := range []struct {
		name         string
		vms          []VM
		rs           []Result
		grouped, imm bool
	}{
		{"3 of 4", vms(4), fails(3, false), true, false},
		{"3 of 6 is half", vms(6), fails(3, true), true, true},
		{"3 of 7 is under half", vms(7), fails(3, false), false, false},
		{"2 of 2 is under GroupMin", vms(2), fails(2, false), false, false},
		{"off VMs do not count in the class", append(vms(4), VM{Name: "x", Status: "off"}, VM{Name: "y", Status: "off"}, VM{Name: "w"}), fails(3, false), true, false},
		{"VMs under a run do not count either", append(vms(4), up("u"), up("v"), up("w")), fails(3, false), true, false},
	} {
		g, imm := groupFailures(c.rs, c.vms, map[string]string{"u": "reset", "v": "reset", "w": "provision"})
		if _, ok := g[CheckHTTPS]; ok != c.grouped || imm[CheckHTTPS] != c.imm {
			t.Errorf("%s: grouped %v imm %v, want %v %v", c.name, ok, imm[CheckHTTPS], c.grouped, c.imm)
		}
	}
}

func TestClipText(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{{"", 3, ""}, {"abc", 3, "abc"}, {"abcd", 3, "abc…"}, {"ääää", 2, "ää…"}} {
		if got := clipText(c.in, c.n); got != c.want {
			t.Errorf("clipText(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
