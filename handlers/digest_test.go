package handlers_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/digitalocean"
	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/tasks"
)

// TestDigestMessage: the digest posts what still fails, the day's
// incidents with durations, short certificates, mutes ending today and the
// cost a day read from DigitalOcean's prices, escaped, as one message.
func TestDigestMessage(t *testing.T) {
	e := newPosterEnv(t, classChannel)
	do := dosim.New(dosim.Options{Token: "t"})
	t.Cleanup(do.Close)
	for _, name := range []string{"emma.cicf.cloud", "dylan.cicf.cloud"} {
		do.AddDroplet(dosim.DropletSpec{Name: name, Tags: []string{"cicf"}, Size: "s-1vcpu-2gb"})
	}
	costs := &tasks.Costs{Tag: "cicf", Droplets: digitalocean.New(digitalocean.Config{Token: "t", BaseURL: do.URL(), MaxRetries: 1})}
	api := handlers.NewSlackAPI(handlers.SlackConfig{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: e.sim.APIURL()})
	poster := handlers.NewAlertPoster(handlers.AlertPosterConfig{Channel: classChannel, Domain: "cicf.cloud", Location: time.UTC, Costs: costs},
		e.alerts, nil, api, slog.New(slog.DiscardHandler), e.clock)

	at := e.clock()
	d := tasks.Digest{
		At:      at,
		Failing: []tasks.AlertState{{VM: "emma", Check: tasks.CheckHTTPS, Firing: true, Checks: 7, Since: at.Add(-2 * time.Hour), Detail: "502 <gateway>"}},
		Incidents: []tasks.DigestIncident{
			{VM: "emma", Check: tasks.CheckHTTPS, Since: at.Add(-2 * time.Hour), Duration: 2 * time.Hour, Open: true},
			{VM: "dylan", Check: tasks.CheckSSH, Since: at.Add(-10 * time.Hour), Duration: 25 * time.Minute},
		},
		Certs: []tasks.Result{{VM: "zoe", Check: tasks.CheckCert, Value: 5}},
		Mutes: []tasks.Mute{{VM: "dylan", Until: at.Add(3 * time.Hour), By: instructorID, Reason: "lab"}},
	}
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.alerts.QueueOnce(context.Background(), "digest:test", tasks.AlertEvent{Kind: tasks.EventDigest, Data: string(data), At: at}); err != nil {
		t.Fatal(err)
	}
	if n, err := poster.Tick(context.Background()); n != 1 || err != nil {
		t.Fatalf("Tick = %d, %v", n, err)
	}
	msgs := e.sim.Messages(classChannel)
	if len(msgs) != 1 {
		t.Fatalf("messages = %+v, want the digest", msgs)
	}
	for _, want := range []string{
		"Daily digest* — Wed 25 Nov", "*Still failing (1)*", "502 &lt;gateway&gt;",
		"*Last 24 h: 2 incidents*", "HTTPS from Wed 10:00 UTC, open for 2 h", "SSH from Wed 02:00 UTC, lasted 25 min",
		"*Certificates under 21 days*", "*zoe.cicf.cloud*: 5 days left",
		"*Mutes ending today*", "*dylan.cicf.cloud* until Wed 15:00 UTC",
		"The class costs $0.86 a day (2 droplets,", // 2 × $0.01786 an hour × 24
	} {
		if !strings.Contains(msgs[0].Text, want) && !strings.Contains(msgs[0].Blocks, want) {
			t.Errorf("digest lacks %q:\n%s", want, msgs[0].Blocks)
		}
	}
}
