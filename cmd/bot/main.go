// Command cicf-bot runs a course's fleet of per-student cloud VMs from Slack.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() { os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)) }

const usage = `cicf-bot runs a course's per-student cloud VMs from Slack.

Usage:
  cicf-bot serve                 the Slack bot (socket mode)
  cicf-bot console [--as USER]   type /cicf commands in a terminal, as an instructor
  cicf-bot demo [--as USER]      the console against a simulated class (no tokens needed)
  cicf-bot render NAME --out DIR write what NAME's VM would get, without any API call
  cicf-bot scan [--ports P] [--json] TARGET...  TCP connect scan (nmap's top 1000 by default)
  cicf-bot roster import FILE    load students from a CSV file: name, Slack user ID, email, SSH key
  cicf-bot version               print the version
  cicf-bot help                  this text

Secrets come from the environment: SLACK_APP_TOKEN, SLACK_BOT_TOKEN,
DIGITALOCEAN_TOKEN. Settings come from CICF_CONFIG (default ./cicf-bot.toml,
optional) and CICF_DB, CICF_INSTRUCTORS, CICF_CHANNEL, SLACK_API_URL,
DIGITALOCEAN_API_URL. See README.md.
`

// run is main without the process: it returns the exit code. 0: done;
// 1: failed while running; 2: bad usage or configuration.
func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "version", "--version":
		fmt.Fprintf(stdout, "cicf-bot %s\n", version)
		return 0
	case "scan":
		return runScan(args, stdout, stderr)
	case "serve", "console", "demo", "render", "roster":
	default:
		fmt.Fprintf(stderr, "cicf-bot: unknown command %q\n\n%s", cmd, usage)
		return 2
	}

	var (
		opts Options
		ro   renderOptions
		err  error
	)
	switch cmd {
	case "render":
		ro, err = parseRenderFlags(args, stderr)
		opts.Command = cmd
	case "roster":
		if len(args) != 2 || args[0] != "import" {
			fmt.Fprintln(stderr, "usage: cicf-bot roster import FILE.csv")
			return 2
		}
		opts.Command = cmd
	default:
		opts, err = parseFlags(cmd, args, stderr)
	}
	if err != nil {
		return 2
	}
	cfg, err := LoadConfig(getenv)
	if err == nil {
		err = cfg.requireTokens(cmd == "serve", cmd == "serve" || cmd == "console")
	}
	if err != nil {
		fmt.Fprintf(stderr, "cicf-bot: %v\n", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	m := NewMain(cfg, opts, stdin, stdout, stderr)
	switch cmd {
	case "render":
		err = m.render(ctx, ro)
	case "roster":
		err = m.importRoster(ctx, args[1])
	default:
		err = m.Run(ctx)
	}
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stderr, "cicf-bot: %v\n", err)
		if _, ok := errors.AsType[*configError](err); ok {
			return 2
		}
		return 1
	}
	return 0
}
