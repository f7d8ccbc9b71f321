package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"time"
)

// run is one child process measured: wall time, peak RSS (from wait4's
// rusage, the child's own), and the most open file descriptors seen by
// sampling /proc/PID/fd every 10 ms (the same method for both scanners;
// a sample can miss a short peak, never invent one).
type run struct {
	stdout, stderr []byte
	wall           time.Duration
	rssKiB         int64
	cpu            time.Duration // user + system
	peakFDs        int
	err            error
}

func measure(name string, args ...string) run {
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	// The child dies with the bench, also when a signal ends it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return run{err: err}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	fdDir := fmt.Sprintf("/proc/%d/fd", cmd.Process.Pid)
	peak := 0
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-tick.C:
			if f, e := os.Open(fdDir); e == nil {
				names, _ := f.Readdirnames(-1)
				f.Close()
				peak = max(peak, len(names))
			}
		}
	}
	r := run{stdout: out.Bytes(), stderr: errb.Bytes(), wall: time.Since(start), peakFDs: peak, err: err}
	if err != nil {
		r.err = fmt.Errorf("%v: %s", err, errb.Bytes())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rssKiB = ru.Maxrss
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return r
}

var peakRe = regexp.MustCompile(`peak (\d+) sockets in flight`)

// peakSockets reads the scanner's own high-water mark from its summary
// line on stderr; -1 when it is missing.
func peakSockets(stderr []byte) int {
	m := peakRe.FindSubmatch(stderr)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func parseJSONLines(out []byte) (map[string][]int, error) {
	got := map[string][]int{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var h struct {
			Host string `json:"host"`
			Open []int  `json:"open"`
		}
		if err := dec.Decode(&h); err != nil {
			return nil, fmt.Errorf("cicf-bot scan --json: %v", err)
		}
		got[h.Host] = h.Open
	}
	return got, nil
}
