package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/internal/slacksim"
)

// Tokens the stand-ins accept and the bots are given. They satisfy
// cicf-bot's checks (prefix and at least 8 characters after it).
const (
	appToken = "xapp-bench-ackburst"
	botToken = "xoxb-bench-ackburst"
	doToken  = "do-bench-ackburst"
)

// bot names a binary under test and how to start it.
type bot struct {
	name string
	path string
	args []string
}

// instance is one bot process with its own Slack and DigitalOcean stand-ins,
// its own database and its own working directory.
type instance struct {
	bot  bot
	dir  string
	sim  *slacksim.Server
	do   *dosim.Server
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, set before done is closed
}

// startInstance starts b against fresh stand-ins holding a class of
// cfg.class droplets, and returns once the bot's socket-mode connection has
// been greeted. On failure nothing is left running.
func startInstance(ctx context.Context, b bot, cfg config) (_ *instance, err error) {
	dir, err := os.MkdirTemp("", "ackburst-"+b.name+"-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	in := &instance{
		bot:  b,
		dir:  dir,
		sim:  slacksim.New(slacksim.Options{AppToken: appToken, BotToken: botToken}),
		do:   dosim.New(dosim.Options{Token: doToken, RatePerMinute: cfg.doRate}),
		done: make(chan struct{}),
	}
	defer func() {
		if err != nil {
			in.close(false)
		}
	}()
	for i := 1; i <= cfg.class; i++ {
		in.do.AddDroplet(dosim.DropletSpec{
			Name: studentName(i) + ".cicf.cloud", Tags: []string{"cicf"}, Region: "nyc3", Size: "s-1vcpu-2gb",
			IPv4: fmt.Sprintf("198.18.%d.%d", i/250, 10+i%250), IPv6: fmt.Sprintf("2001:db8::%x", i),
			CreatedAt: time.Now().Add(-72 * time.Hour),
		})
	}
	if in.log, err = os.Create(filepath.Join(dir, "stderr.log")); err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}

	in.cmd = exec.Command(b.path, b.args...)
	in.cmd.Dir = dir // so that no ./cicf-bot.toml from elsewhere is read
	in.cmd.Stdout, in.cmd.Stderr = in.log, in.log
	in.cmd.Env = []string{
		"HOME=" + dir,
		"TMPDIR=" + dir,
		"SLACK_APP_TOKEN=" + appToken,
		"SLACK_BOT_TOKEN=" + botToken,
		"SLACK_API_URL=" + in.sim.APIURL(),
		"DIGITALOCEAN_TOKEN=" + doToken,
		"DIGITALOCEAN_API_URL=" + in.do.URL(),
		"CICF_DB=" + filepath.Join(dir, "cicf.db"),
		"CICF_INSTRUCTORS=" + instructorID,
	}
	// Runtime knobs pass through, so a reader can try e.g. GOMEMLIMIT.
	for _, k := range []string{"GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS"} {
		if v, ok := os.LookupEnv(k); ok {
			in.cmd.Env = append(in.cmd.Env, k+"="+v)
		}
	}
	if err := in.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", b.path, err)
	}
	go func() {
		in.err = in.cmd.Wait()
		close(in.done)
	}()

	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	go func() {
		select {
		case <-in.done:
			cancel()
		case <-wctx.Done():
		}
	}()
	if err := in.sim.WaitConnections(wctx, 1); err != nil {
		select {
		case <-in.done:
			return nil, fmt.Errorf("%s exited before connecting (%v); its log:\n%s", b.name, in.err, in.logTail())
		default:
		}
		return nil, fmt.Errorf("%s: %w; its log:\n%s", b.name, err, in.logTail())
	}
	return in, nil
}

// stop sends SIGTERM and waits for the process. It returns an error unless
// the process exits 0 within grace; a process still running then is killed.
func (in *instance) stop(grace time.Duration) error {
	select {
	case <-in.done:
		return fmt.Errorf("%s had already exited: %v", in.bot.name, in.err)
	default:
	}
	start := time.Now()
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal %s: %w", in.bot.name, err)
	}
	select {
	case <-in.done:
	case <-time.After(grace):
		_ = in.cmd.Process.Kill()
		<-in.done
		return fmt.Errorf("%s did not exit within %v of SIGTERM; killed", in.bot.name, grace)
	}
	if in.err != nil {
		return fmt.Errorf("%s after SIGTERM: %w; its log:\n%s", in.bot.name, in.err, in.logTail())
	}
	logf("%s: exited 0 %v after SIGTERM", in.bot.name, time.Since(start).Round(time.Millisecond))
	return nil
}

// close stops the stand-ins and removes the working directory unless keep
// is set. It kills the process if it is still running.
func (in *instance) close(keep bool) {
	if in.cmd != nil && in.cmd.Process != nil {
		select {
		case <-in.done:
		default:
			_ = in.cmd.Process.Kill()
			<-in.done
		}
	}
	in.sim.Close()
	in.do.Close()
	if in.log != nil {
		in.log.Close()
	}
	if keep {
		logf("%s: kept %s", in.bot.name, in.dir)
		return
	}
	os.RemoveAll(in.dir)
}

// logTail returns the end of the process's stderr, for error messages.
func (in *instance) logTail() string {
	b, err := os.ReadFile(filepath.Join(in.dir, "stderr.log"))
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// memory is what /proc/PID/status says of a process's resident set, in KiB.
type memory struct {
	rss  int // VmRSS: resident now
	hwm  int // VmHWM: the peak since start or the last resetPeak
	anon int // RssAnon: heap, stacks, runtime structures
	file int // RssFile: pages of the binary (and other mapped files)
}

// readMemory reads VmRSS, VmHWM, RssAnon and RssFile from /proc/PID/status.
func readMemory(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		dst := map[string]*int{"VmRSS": &m.rss, "VmHWM": &m.hwm, "RssAnon": &m.anon, "RssFile": &m.file}[k]
		if !ok || dst == nil {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		if err != nil {
			return memory{}, fmt.Errorf("parse %s %q: %w", k, v, err)
		}
		*dst = n
	}
	if err := sc.Err(); err != nil {
		return memory{}, err
	}
	if m.rss == 0 {
		return memory{}, errors.New("no VmRSS in /proc/PID/status")
	}
	return m, nil
}

// resetPeak resets the process's VmHWM to its current RSS (Linux
// clear_refs "5"), so that each burst's peak is its own.
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// loadAvg returns the 1-minute load average, or -1 if unknown. Other work
// on the machine shows up in ack latency, so the report carries it.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}
