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
		br := bufio.NewReaderSize(c.In, 4096)
		for {
			line, err := readConsoleLine(br)
			if line != "" || err == nil {
				select {
				case lines <- line:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				readErr <- err
				return
			}
		}
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
			if line == tooLongLine {
				if _, err := fmt.Fprintf(c.Out, "That line is over %d KiB and was not run; type a shorter one.\n", MaxConsoleLine/1024); err != nil {
					return fmt.Errorf("write console output: %w", err)
				}
				continue
			}
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

// MaxConsoleLine is the longest console line run, in bytes; a Slack command
// is far shorter. A longer line is refused and the console goes on.
const MaxConsoleLine = 64 * 1024

// tooLongLine stands for a refused line; it cannot be typed (a NUL byte).
const tooLongLine = "\x00too long"

// readConsoleLine returns the next line without its newline, or
// tooLongLine (having read past the rest of it) when it is over
// MaxConsoleLine. At end of input it returns what was left and io.EOF.
func readConsoleLine(br *bufio.Reader) (string, error) {
	var b []byte
	over := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !over {
			if len(b)+len(chunk) > MaxConsoleLine+1 { // +1: the newline
				over, b = true, nil
			} else {
				b = append(b, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if over {
			return tooLongLine, err
		}
		return strings.TrimSuffix(string(b), "\n"), err
	}
}
