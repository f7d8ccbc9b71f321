package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/cicf/cicf-bot/internal/slacksim"
	"github.com/cicf/cicf-bot/internal/vmsim"
)

// demoChannel is the simulated class channel.
const demoChannel = "C0DEMOCLS"

// demoAlertConfig makes the demo's checks fast enough to watch: an uptime
// sweep every 5 s, the firewall audit every 10 s, alerts after 2 failures.
func (m *Main) demoAlertConfig() {
	a := &m.Config.Alerts
	a.Uptime, a.Firewall, a.Resources = "@every 5s", "@every 10s", "@every 15s"
	a.FireAfter, a.ResolveAfter = 2, 2
}

// demoTrouble makes two of the simulated class's VMs misbehave, in their
// state (the checks find it as they would on a real VM): jasmine runs a
// notebook server open to the internet on 8888, and dylan's HTTPS goes
// down 10 s after start and comes back 40 s later.
func (m *Main) demoTrouble(fleet *vmsim.Fleet) {
	fleet.Listen(demoIP("jasmine"), vmsim.Listener{Port: 8888, Process: "python3", User: "cicf", PID: 2718})
	down := time.AfterFunc(10*time.Second, func() { fleet.SetService(demoIP("dylan"), false) })
	up := time.AfterFunc(50*time.Second, func() { fleet.SetService(demoIP("dylan"), true) })
	m.closers = append(m.closers, func() error { down.Stop(); up.Stop(); return nil })
}

// demoIP is the address seedDemo gives the droplet of name.
func demoIP(name string) string {
	for i, d := range demoClass {
		if d.name == name {
			return fmt.Sprintf("198.18.0.%d", 10+i)
		}
	}
	return ""
}

// demoSlack starts a Slack stand-in for the demo's alerts and prints every
// message posted to it on out, as the channel (or a student's DM) would
// show it. It returns the Web API client the poster uses.
func (m *Main) demoSlack(out io.Writer) *slack.Client {
	sim := slacksim.New(slacksim.Options{ChannelBurst: 3})
	api := slack.New("xoxb-test", slack.OptionAPIURL(sim.APIURL()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for seen := 0; ; {
			msgs, err := sim.WaitMessages(ctx, "", seen+1, nil)
			if err != nil {
				return
			}
			for _, msg := range msgs[seen:] {
				fmt.Fprint(out, demoMessage(msg))
			}
			seen = len(msgs)
		}
	}()
	m.closers = append(m.closers, func() error { cancel(); <-done; sim.Close(); return nil })
	return api
}

// demoMessage renders a posted message for the terminal.
func demoMessage(msg slacksim.Message) string {
	where := "#class"
	switch {
	case msg.Channel != demoChannel:
		where = "DM to " + msg.Channel
	case msg.ThreadTS != "" && msg.Broadcast:
		where = "#class, in thread and channel"
	case msg.ThreadTS != "":
		where = "#class, in thread"
	}
	text := strings.ReplaceAll(msg.Text, "\n", "\n    ")
	return fmt.Sprintf("\n[%s %s] %s\n", time.Now().Format("15:04:05"), where, text)
}

// lockedWriter lets the console and the alert printer share the terminal.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
