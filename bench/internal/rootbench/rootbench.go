// Package rootbench is what the root benchmarks that build a network
// namespace (bench/scan, bench/uptime) share: the check for the tools
// they run, and undoing their setup when a signal stops them.
package rootbench

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// NeedTools returns nil if every tool is found (on PATH, or at its
// path), else an error naming the first missing one and what to install.
func NeedTools(install string, tools ...string) error {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is needed (apt-get install %s), and root", tool, install)
		}
	}
	return nil
}

// UndoOnSignal returns at once; on SIGINT or SIGTERM it runs undo and
// exits 1. Deferred calls do not run when a signal ends a process, and a
// benchmark stopped by hand must still delete its namespace, links,
// servers and files.
func UndoOnSignal(undo func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		undo()
		os.Exit(1)
	}()
}
