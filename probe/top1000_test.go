package probe

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestTop1000MatchesNmap recomputes nmap's top 1000 TCP ports from the
// installed nmap-services (frequency descending, as nmap --top-ports picks
// them) and compares with the embedded list.
func TestTop1000MatchesNmap(t *testing.T) {
	f, err := os.Open("/usr/share/nmap/nmap-services")
	if err != nil {
		t.Fatalf("%v (install nmap: apt-get install nmap)", err)
	}
	defer f.Close()
	type entry struct {
		port int
		freq float64
	}
	var all []entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 3 || strings.HasPrefix(fs[0], "#") || !strings.HasSuffix(fs[1], "/tcp") {
			continue
		}
		p, err1 := strconv.Atoi(strings.TrimSuffix(fs[1], "/tcp"))
		fr, err2 := strconv.ParseFloat(fs[2], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad line %q", sc.Text())
		}
		all = append(all, entry{p, fr})
	}
	slices.SortStableFunc(all, func(a, b entry) int {
		switch {
		case a.freq > b.freq:
			return -1
		case a.freq < b.freq:
			return 1
		}
		return a.port - b.port
	})
	if len(all) < 1000 {
		t.Fatalf("nmap-services has %d tcp ports", len(all))
	}
	want := make([]int, 1000)
	for i := range want {
		want[i] = all[i].port
	}
	slices.Sort(want)
	if got := TopPorts(); !slices.Equal(got, want) {
		t.Fatalf("embedded top1000 differs from nmap-services; regenerate with the command in top1000.go")
	}
	// Ports 3013 and 3050 tie at the 1000th place: nmap keeps the lower
	// port, as the sort above does. Check against nmap's own choice too.
	out, err := exec.Command("nmap", "-sT", "-Pn", "-n", "--top-ports", "1000", "-oX", "-", "127.0.0.1").Output()
	if err != nil {
		t.Fatalf("nmap: %v (install nmap: apt-get install nmap)", err)
	}
	m := regexp.MustCompile(`<scaninfo [^>]*services="([^"]+)"`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no scaninfo in nmap output")
	}
	var fromNmap []int
	for _, r := range strings.Split(string(m[1]), ",") {
		a, b, ok := strings.Cut(r, "-")
		lo, _ := strconv.Atoi(a)
		hi := lo
		if ok {
			hi, _ = strconv.Atoi(b)
		}
		for p := lo; p <= hi; p++ {
			fromNmap = append(fromNmap, p)
		}
	}
	if !slices.Equal(fromNmap, want) {
		t.Errorf("nmap --top-ports 1000 scans %d ports that differ from nmap-services' top 1000", len(fromNmap))
	}
}
