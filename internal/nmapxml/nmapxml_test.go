package nmapxml

import (
	"net"
	"os/exec"
	"reflect"
	"strconv"
	"testing"
)

// TestOpenPortsLiveNmap parses what the real nmap writes: one loopback
// listener open, one port closed, and a second loopback address where
// the listener is not bound.
func TestOpenPortsLiveNmap(t *testing.T) {
	if _, err := exec.LookPath("nmap"); err != nil {
		t.Fatal("nmap not found: apt-get install nmap")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	open := l.Addr().(*net.TCPAddr).Port
	c, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := c.Addr().(*net.TCPAddr).Port
	c.Close()

	ports := strconv.Itoa(open) + "," + strconv.Itoa(closed)
	out, err := exec.Command("nmap", "-sT", "-Pn", "-n", "-p", ports, "-oX", "-", "127.0.0.1", "127.0.0.2").Output()
	if err != nil {
		t.Fatalf("nmap: %v", err)
	}
	got, err := OpenPorts(out)
	want := map[string][]int{"127.0.0.1": {open}, "127.0.0.2": {}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("OpenPorts(nmap output) = %v, %v, want %v\n%s", got, err, want, out)
	}
	states, err := PortStates(out)
	wantStates := map[string]map[int]string{
		"127.0.0.1": {open: "open", closed: "closed"},
		"127.0.0.2": {open: "closed", closed: "closed"},
	}
	if err != nil || !reflect.DeepEqual(states, wantStates) {
		t.Fatalf("PortStates(nmap output) = %v, %v, want %v\n%s", states, err, wantStates, out)
	}
}

// host is a <host> element as nmap 7.93 writes it, around addresses and ports.
func host(addrs, ports string) string {
	return `<host starttime="1796373660" endtime="1796373660"><status state="up" reason="user-set" reason_ttl="0"/>` +
		addrs + "<hostnames>\n</hostnames>\n" + ports + `<times srtt="72" rttvar="3763" to="100000"/></host>`
}

func doc(hosts ...string) []byte {
	s := `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -sT -Pn -n -oX -" version="7.93" xmloutputversion="1.05">
<scaninfo type="connect" protocol="tcp" numservices="1000" services="1-1000"/>
`
	for _, h := range hosts {
		s += h + "\n"
	}
	return []byte(s + `<runstats><finished time="1796373660" exit="success"/></runstats></nmaprun>`)
}

func TestOpenPorts(t *testing.T) {
	const (
		v4  = `<address addr="198.18.70.2" addrtype="ipv4"/>`
		mac = `<address addr="02:42:AC:11:00:02" addrtype="mac"/>`
	)
	p := func(id, state string) string {
		return `<port protocol="tcp" portid="` + id + `"><state state="` + state + `" reason="r" reason_ttl="0"/></port>`
	}
	tests := []struct {
		name    string
		in      []byte
		want    map[string][]int
		wantErr bool
	}{
		{"open ones only, sorted", doc(host(v4, "<ports>"+p("8080", "open")+p("22", "open")+p("23", "closed")+p("25", "filtered")+p("53", "open|filtered")+"</ports>")),
			map[string][]int{"198.18.70.2": {22, 8080}}, false},
		{"MAC after the IP", doc(host(v4+mac, "<ports>"+p("22", "open")+"</ports>")),
			map[string][]int{"198.18.70.2": {22}}, false},
		{"MAC before the IP", doc(host(mac+v4, "<ports>"+p("22", "open")+"</ports>")),
			map[string][]int{"198.18.70.2": {22}}, false},
		{"all filtered: no port elements", doc(host(v4, `<ports><extraports state="filtered" count="1000"/></ports>`)),
			map[string][]int{"198.18.70.2": {}}, false},
		{"two hosts, IPv6", doc(host(v4, ""), host(`<address addr="::1" addrtype="ipv6"/>`, "<ports>"+p("443", "open")+"</ports>")),
			map[string][]int{"198.18.70.2": {}, "::1": {443}}, false},
		{"no hosts", doc(), map[string][]int{}, false},
		{"host without an IP", doc(host(mac, "")), nil, true},
		{"not XML", []byte("Starting Nmap 7.93\n"), nil, true},
		{"truncated", doc(host(v4, ""))[:200], nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := OpenPorts(tt.in)
			if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("OpenPorts() = %v, %v, want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestPortStates(t *testing.T) {
	p := func(id, state string) string {
		return `<port protocol="tcp" portid="` + id + `"><state state="` + state + `" reason="r" reason_ttl="0"/></port>`
	}
	in := doc(host(`<address addr="02:42:AC:11:00:02" addrtype="mac"/><address addr="198.18.72.2" addrtype="ipv4"/>`,
		`<ports><extraports state="closed" count="995"/>`+p("22", "open")+p("80", "closed")+p("81", "filtered")+p("53", "open|filtered")+"</ports>"))
	got, err := PortStates(in)
	want := map[string]map[int]string{"198.18.72.2": {22: "open", 80: "closed", 81: "filtered", 53: "open|filtered"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("PortStates() = %v, %v, want %v", got, err, want)
	}
	if _, err := PortStates(doc(host(`<address addr="02:42:AC:11:00:02" addrtype="mac"/>`, ""))); err == nil {
		t.Error("PortStates(host without an IP) succeeded")
	}
}

// FuzzOpenPorts: whatever nmap (or a broken pipe) writes, OpenPorts
// returns a value or an error, and never a host without an entry.
func FuzzOpenPorts(f *testing.F) {
	f.Add(doc(host(`<address addr="198.18.70.2" addrtype="ipv4"/>`, `<ports><port protocol="tcp" portid="22"><state state="open"/></port></ports>`)))
	f.Add([]byte("<nmaprun></nmaprun>"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := OpenPorts(in)
		if err != nil {
			return
		}
		for ip, ports := range got {
			if ip == "" || ports == nil {
				t.Fatalf("OpenPorts(%q) has %q: %v", in, ip, ports)
			}
		}
	})
}
