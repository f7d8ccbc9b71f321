package digitalocean

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cicf/cicf-bot/tasks"
	"github.com/digitalocean/godo"
)

// PowerDroplet powers the droplet with id on (power_on) or off (power_off,
// a hard cut, not a guest shutdown that a hung VM may ignore) and waits for
// the action to complete, polling it with backoff, up to ctx's deadline or
// Config.ActionTimeout. A droplet already in the wanted state gets no
// action. It returns ENOTFOUND for an unknown droplet; ECONFLICT while the
// droplet is being created or busy with another action; EUNAVAILABLE when
// the action errors or does not finish in time; and otherwise fails as the
// package doc says.
func (c *Client) PowerDroplet(ctx context.Context, id int, on bool) error {
	verb, want := "power off", "off"
	if on {
		verb, want = "power on", "active"
	}
	op := fmt.Sprintf("%s droplet %d", verb, id)
	if c.err != nil {
		return fmt.Errorf("%s: %w", op, c.err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.actionTimeout)
	defer cancel()

	d, err := c.GetDroplet(ctx, id)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	switch d.Status {
	case want:
		return nil
	case "new":
		return fmt.Errorf("%s: %w", op, tasks.Errorf(tasks.ECONFLICT,
			"%s is still being created; DigitalOcean takes no power action until it is up. Try again in a minute.", d.Name))
	}

	a, err := c.startPower(ctx, id, on)
	switch code := statusOf(err); {
	case err == nil:
	case code == http.StatusNotFound:
		return fmt.Errorf("%s: %w: %w", op, noDroplet(id), err)
	case code == http.StatusUnprocessableEntity:
		// "Droplet already has a pending event."
		return fmt.Errorf("%s: %w: %w", op, tasks.Errorf(tasks.ECONFLICT,
			"DigitalOcean is busy with another action on %s. Try again in a minute.", d.Name), err)
	default:
		return fail(op, err)
	}
	c.logger.DebugContext(ctx, "digitalocean: power action started", "droplet_id", id, "action_id", a.ID, "type", a.Type)
	return c.waitAction(ctx, op, fmt.Sprintf("%s %s", verb, d.Name), a)
}

func (c *Client) startPower(ctx context.Context, id int, on bool) (*godo.Action, error) {
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	var a *godo.Action
	var err error
	if on {
		a, _, err = c.godo.DropletActions.PowerOn(ctx, id)
	} else {
		a, _, err = c.godo.DropletActions.PowerOff(ctx, id)
	}
	return a, err
}

// waitAction polls action a until it completes or errors, waiting
// PollInterval, then twice as long each time up to 8 times PollInterval.
// what says what the action does, for the person in Slack.
func (c *Client) waitAction(ctx context.Context, op, what string, a *godo.Action) error {
	wait := c.pollInterval
	for {
		switch a.Status {
		case godo.ActionCompleted:
			c.logger.DebugContext(ctx, "digitalocean: action completed", "action_id", a.ID, "type", a.Type, "droplet_id", a.ResourceID)
			return nil
		case "errored":
			return fmt.Errorf("%s: action %d errored: %w", op, a.ID, tasks.Errorf(tasks.EUNAVAILABLE,
				"DigitalOcean could not %s (action %d failed). Try again, or look at the droplet in the DigitalOcean console.", what, a.ID))
		}
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s: action %d: %w: %w", op, a.ID, tasks.Errorf(tasks.EUNAVAILABLE,
				"DigitalOcean did not finish the request to %s in time. It may still happen; check with /cicf status in a minute.", what), err)
		}
		wait = min(2*wait, 8*c.pollInterval)
		next, err := c.getAction(ctx, a.ID)
		if err != nil {
			return fail(fmt.Sprintf("%s: poll action %d", op, a.ID), err)
		}
		a = next
	}
}

func (c *Client) getAction(ctx context.Context, id int) (*godo.Action, error) {
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	a, _, err := c.godo.Actions.Get(ctx, id)
	return a, err
}
