package handlers_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/handlers"
	"github.com/cicf/cicf-bot/internal/dosim"
	"github.com/cicf/cicf-bot/internal/slacksim"
	"github.com/cicf/cicf-bot/tasks"
)

// evil is outside text that, unescaped, pings the channel and shows a
// trusted-looking link to somewhere else.
const evil = "<!channel> see <https://evil.example/x|docs.cicf.cloud> & more"

// rendered returns what Slack gets for a command: the blocks as JSON and
// the fallback text, through the real rendering path.
func rendered(t *testing.T, env *testEnv, user, text string) string {
	t.Helper()
	blocks, fallback := handlers.RenderBlocks(env.router.Handle(context.Background(), user, text))
	b, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n" + fallback
}

// assertEscaped fails unless got holds evil only as escaped text.
func assertEscaped(t *testing.T, what, got string) {
	t.Helper()
	for _, bad := range []string{"<!channel>", "<https://evil", `\u003c!channel\u003e`, `\u003chttps://evil`} {
		if strings.Contains(got, bad) {
			t.Errorf("%s carries %q unescaped:\n%s", what, bad, got)
		}
	}
	if !strings.Contains(got, "&lt;!channel&gt;") && !strings.Contains(got, `\u0026lt;!channel\u0026gt;`) {
		t.Errorf("%s does not show the outside text escaped:\n%s", what, got)
	}
}

func failedRun(t *testing.T, env *testEnv, vm string) *tasks.Run {
	t.Helper()
	ctx := context.Background()
	run := &tasks.Run{VM: vm, Kind: tasks.RunProvision, Steps: []string{"Create", "Boot"}, RequestedBy: instructorID, Channel: instructorID}
	if err := env.runs.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	run.State, run.Error, run.FinishedAt = tasks.RunFailed, "cloud-init said: "+evil, env.now
	if err := env.runs.UpdateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	return run
}

func TestOutsideTextIsEscapedInReplies(t *testing.T) {
	env := classEnv(t)
	failedRun(t, env, "emma")
	// A droplet with the class tag whose name and region came from outside.
	env.sim.AddDroplet(dosim.DropletSpec{Name: "<https://evil.example/x|docs>.cicf.cloud", Tags: []string{"cicf"}, IPv4: "198.18.0.11", Region: "nyc3", Size: "s-1vcpu-2gb"})
	env.reconcile(t)
	assertEscaped(t, "runs", rendered(t, env, instructorID, "runs"))
	assertEscaped(t, "runs emma", rendered(t, env, instructorID, "runs emma"))
	table := rendered(t, env, instructorID, "status all")
	if !strings.Contains(table, "evil.example") {
		t.Errorf("status table does not list the droplet from outside:\n%s", table)
	}
	if strings.Contains(table, "<https://evil") || strings.Contains(table, `\u003chttps://evil`) {
		t.Errorf("status table carries a droplet's name as a link:\n%s", table)
	}
}

func TestOutsideTextIsEscapedInStatusCard(t *testing.T) {
	env := newTestEnv(t)
	env.mustRun(t, instructorID, "roster add emma <@"+emmaID+"|emma>", "Added `emma`")
	env.sim.AddDroplet(dosim.DropletSpec{Name: "emma.cicf.cloud", Tags: []string{"cicf"}, IPv4: "198.18.0.10", Region: evil, Size: "s-1vcpu-2gb"})
	env.reconcile(t)
	assertEscaped(t, "status emma", rendered(t, env, instructorID, "status emma"))
}

func TestOutsideTextIsEscapedInProgress(t *testing.T) {
	sim := slacksim.New(slacksim.Options{})
	defer sim.Close()
	env := newTestEnv(t)
	run := failedRun(t, env, "emma")
	p := startProgress(t, sim, env.runs)
	p.Report(context.Background(), *run)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sim.WaitCall(ctx, "chat.postMessage", func(c slacksim.Call) bool { return c.Param("channel") == instructorID })
	if err != nil {
		t.Fatal(err)
	}
	assertEscaped(t, "progress message", c.Param("blocks")+"\n"+c.Param("text"))
}
