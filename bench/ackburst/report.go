package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// report is the whole run, one botReport per bot in the order started.
type report struct {
	bots []*botReport
}

// print writes the report as markdown.
func (rep *report) print(w io.Writer, cfg config) {
	fmt.Fprintf(w, "Machine: %s.\n", machine())
	fmt.Fprintf(w, "Burst: %d slash commands at once, %d runs per bot, alternating which bot goes first; class of %d; idle %v before reading idle RSS, %v after the last burst.\n\n",
		cfg.n, cfg.runs, cfg.class, cfg.idle, cfg.settle)

	fmt.Fprintf(w, "Median of %d runs (timeouts: total over all runs; replies: the worst run):\n\n", cfg.runs)
	fmt.Fprintln(w, "| bot | idle RSS | peak RSS | ack p50 | p90 | p99 | max | timeouts | replies | last reply |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, b := range rep.bots {
		timeouts, fewest := 0, -1
		var sum result
		for _, r := range b.runs {
			timeouts += r.timeouts
			sum.internal += r.internal
			sum.stale += r.stale
			if fewest < 0 || r.replies < fewest {
				fewest = r.replies
			}
		}
		replies := fmt.Sprintf("%d/%d", fewest, cfg.n) + sum.replyNotes(" in all")
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %d | %s | %s |\n",
			b.bot.name, mib(b.idle.rss), mib(b.median(func(r result) float64 { return float64(r.peakKiB) })),
			b.medianMS(50), b.medianMS(90), b.medianMS(99), b.medianMS(100),
			timeouts, replies, ms(time.Duration(b.median(func(r result) float64 { return float64(r.lastReply) }))))
	}

	fmt.Fprintln(w, "\nEach run (load: the 1-minute load average just before the burst, this benchmark's own work included):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| bot | run | load | peak RSS | ack p50 | p90 | p99 | max | timeouts | replies | last reply |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, b := range rep.bots {
		for i, r := range b.runs {
			peak := mib(r.peakKiB)
			if r.peakSinceStart {
				peak += " (since start)"
			}
			replies := fmt.Sprintf("%d/%d", r.replies, cfg.n) + r.replyNotes("")
			fmt.Fprintf(w, "| %s | %d | %.2f | %s | %s | %s | %s | %s | %d | %s | %s |\n",
				b.bot.name, i+1, r.load, peak, ms(percentile(r.acks, 50)), ms(percentile(r.acks, 90)),
				ms(percentile(r.acks, 99)), ms(percentile(r.acks, 100)), r.timeouts, replies, ms(r.lastReply))
		}
	}

	fmt.Fprintln(w, "\nMemory (VmRSS and VmHWM from /proc/PID/status):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| bot | built with | binary | idle RSS (anon + file) | idle VmHWM | RSS idle after the bursts (anon + file) | highest burst peak |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|")
	for _, b := range rep.bots {
		peak := 0
		for _, r := range b.runs {
			peak = max(peak, r.peakKiB)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n",
			b.bot.name, b.goVersion, mib(int(b.binKiB)), split(b.idle), mib(b.idle.hwm), split(b.after), mib(peak))
	}
}

// problems lists what makes the run a failure.
func (rep *report) problems() []string {
	var p []string
	for _, b := range rep.bots {
		for i, r := range b.runs {
			if r.timeouts > 0 {
				p = append(p, fmt.Sprintf("%s run %d: %d envelopes not acked within 3 s", b.bot.name, i+1, r.timeouts))
			}
			if r.replies < r.sent || len(r.sendErrs) > 0 {
				p = append(p, fmt.Sprintf("%s run %d: %d replies to %d commands sent (%d send errors)",
					b.bot.name, i+1, r.replies, r.sent, len(r.sendErrs)))
			}
		}
		if b.stopErr != nil {
			p = append(p, b.stopErr.Error())
		}
	}
	return p
}

// median returns the median over runs of f.
func (b *botReport) median(f func(result) float64) float64 {
	if len(b.runs) == 0 {
		return 0
	}
	v := make([]float64, len(b.runs))
	for i, r := range b.runs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

// medianMS returns the median over runs of the p-th ack percentile.
func (b *botReport) medianMS(p float64) string {
	return ms(time.Duration(b.median(func(r result) float64 { return float64(percentile(r.acks, p)) })))
}

// replyNotes describes the replies that are not plain answers, "" if none.
func (r result) replyNotes(suffix string) string {
	var notes []string
	if r.internal > 0 {
		notes = append(notes, fmt.Sprintf("%d internal errors", r.internal))
	}
	if r.stale > 0 {
		notes = append(notes, fmt.Sprintf("%d with DO not answering", r.stale))
	}
	if len(notes) == 0 {
		return ""
	}
	return " (" + strings.Join(notes, ", ") + suffix + ")"
}

// split shows RSS as its anonymous and file-backed parts.
func split(m memory) string {
	return fmt.Sprintf("%s (%s + %s)", mib(m.rss), mib(m.anon), mib(m.file))
}

func ms(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func mib[T int | float64](kib T) string {
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}

// writeCSV writes one line per envelope of every burst; times in ms, -1
// for what never happened.
func (rep *report) writeCSV(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	msf := func(d time.Duration) string {
		if d < 0 {
			return "-1"
		}
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
	}
	_ = w.Write([]string{"bot", "run", "index", "user", "text", "sent_ms", "ack_latency_ms", "reply_ms", "internal_error", "do_not_answering"})
	for _, b := range rep.bots {
		for run, r := range b.runs {
			for i, e := range r.envelopes {
				_ = w.Write([]string{b.bot.name, strconv.Itoa(run + 1), strconv.Itoa(i), e.user, e.text,
					msf(e.sent), msf(e.ack), msf(e.reply), strconv.FormatBool(e.internalErr), strconv.FormatBool(e.stale)})
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
