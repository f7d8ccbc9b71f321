// Command uptime measures one uptime sweep of the alert engine over a class
// of -hosts VMs (issue 6, item 10): the real tasks.Alerts with the SQLite
// store, the bot's SSH dialer (pinned host key, key login) and HTTPS prober
// (SNI, certificate days), against real OpenSSH sshd and Caddy.
//
// The hosts are addresses of one network namespace (198.19.240.0/20, made
// here and deleted on exit, also on SIGINT/SIGTERM) behind one sshd and one
// Caddy with a wildcard certificate from a test CA, so -hosts 500 needs
// neither 500 namespaces nor 500 processes. Each round the sweep runs in a
// child process (its own peak RSS and CPU), then the reference, what an
// instructor would type by hand for the same answers: `ssh-keyscan` (host
// keys) and `curl` in `xargs -P` (HTTPS status) over the same hosts. Every
// round checks that the sweep found every host up and every key matching
// (a sweep that is fast because it failed is worth nothing).
//
// Usage, as root, from the module root:
//
//	go run ./bench/uptime [-hosts 500] [-runs 5] [-parallel 64]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	hosts := flag.Int("hosts", 500, "VMs in the class (addresses in 198.19.240.0/20)")
	runs := flag.Int("runs", 5, "rounds; the report gives median and worst")
	parallel := flag.Int("parallel", 64, "VMs one sweep checks at once (AlertsDeps.Parallel)")
	child := flag.String("child", "", "internal: run one sweep over the class described in this directory")
	flag.Parse()
	if *child != "" {
		if err := sweepChild(*child, *parallel); err != nil {
			fmt.Fprintln(os.Stderr, "uptime child:", err)
			os.Exit(1)
		}
		return
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "uptime: needs root (network namespaces); run as root: go run ./bench/uptime")
		os.Exit(2)
	}
	if *hosts < 1 || *hosts > 4000 {
		fmt.Fprintln(os.Stderr, "uptime: -hosts must be 1..4000")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *hosts, *runs, *parallel); err != nil {
		fmt.Fprintln(os.Stderr, "uptime:", err)
		os.Exit(1)
	}
}
