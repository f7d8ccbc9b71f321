package handlers

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
)

// ConsoleUserID is the caller ID of the terminal front end. It cannot clash
// with a Slack user ID, which is upper case.
const ConsoleUserID = "console"

// Console runs /cicf lines typed in a terminal through the same Router as
// Slack, for when Slack is down and for demos.
type Console struct {
	Router *Router
	UserID string // ConsoleUserID unless acting as someone else
	In     io.Reader
	Out    io.Writer
	Prompt string // printed before each line when non-empty (interactive use)
}

// Run executes one command per line until end of input, "exit" or "quit",
// or ctx ending. It returns nil at end of input and an error only when
// reading or writing fails.
func (c *Console) Run(ctx context.Context) error {
	lines := make(chan string)
	readErr := make(chan error, 1)
	// The reader goroutine ends at end of input; a blocked terminal read
	// cannot be interrupted, so on ctx end it is left to the process exit.
	go func() {
		sc := bufio.NewScanner(c.In)
		sc.Buffer(make([]byte, 64*1024), 64*1024)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()
	for {
		if c.Prompt != "" {
			fmt.Fprint(c.Out, c.Prompt)
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			if c.Prompt != "" {
				fmt.Fprintln(c.Out)
			}
			if err != nil {
				return fmt.Errorf("read console input: %w", err)
			}
			return nil
		case line := <-lines:
			line = strings.TrimSpace(line)
			switch {
			case line == "" || strings.HasPrefix(line, "#"):
				continue
			case line == "exit" || line == "quit":
				return nil
			}
			if c.Prompt == "" {
				// Echo scripted input so the transcript reads like a session.
				fmt.Fprintf(c.Out, "> %s\n", line)
			}
			reply := c.Router.Handle(ctx, c.UserID, line)
			if _, err := fmt.Fprintln(c.Out, reply.String()); err != nil {
				return fmt.Errorf("write console output: %w", err)
			}
		}
	}
}
