package handlers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
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
				// readErr first: whoever sees lines closed finds it there.
				readErr <- err
				close(lines)
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
		case line, ok := <-lines:
			if !ok {
				return c.endOfInput(<-readErr)
			}
			if err := c.runLine(ctx, line, lines); err == errQuit {
				return nil
			} else if err != nil {
				return err
			}
		case err := <-readErr:
			return c.endOfInput(err)
		}
	}
}

// endOfInput ends Run when reading stopped with err (nil at end of input).
func (c *Console) endOfInput(err error) error {
	if c.Prompt != "" {
		fmt.Fprintln(c.Out)
	}
	if err != nil {
		return fmt.Errorf("read console input: %w", err)
	}
	return nil
}

// errQuit is runLine's answer to "exit" or "quit".
var errQuit = errors.New("quit")

// runLine runs one console line; more is where a password prompt reads the
// next line from.
func (c *Console) runLine(ctx context.Context, line string, more <-chan string) error {
	if line == tooLongLine {
		return c.print(fmt.Sprintf("That line is over %d KiB and was not run; type a shorter one.", MaxConsoleLine/1024))
	}
	line = strings.TrimSpace(line)
	switch {
	case line == "" || strings.HasPrefix(line, "#"):
		return nil
	case line == "exit" || line == "quit":
		return errQuit
	}
	if c.Prompt == "" {
		// Echo scripted input so the transcript reads like a session.
		fmt.Fprintf(c.Out, "> %s\n", line)
	}
	reply := c.Router.Handle(ctx, c.UserID, line)
	if reply.Form == FormPassword {
		reply = c.askPassword(ctx, more)
	}
	return c.print(reply.String())
}

func (c *Console) print(s string) error {
	if _, err := fmt.Fprintln(c.Out, s); err != nil {
		return fmt.Errorf("write console output: %w", err)
	}
	return nil
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

// askPassword reads the next line as the password, without echo when the
// input is a terminal (piped input is read as it comes, and never echoed
// into the transcript), and sets it.
func (c *Console) askPassword(ctx context.Context, lines <-chan string) *Reply {
	// Echo goes off before the prompt shows, so nothing typed after it echoes.
	restore := noEcho(c.In)
	defer restore()
	fmt.Fprint(c.Out, "New JupyterLab password (not shown): ")
	select {
	case <-ctx.Done():
		return Textf("Cancelled; the password was not changed.")
	case pw, ok := <-lines:
		restore()
		fmt.Fprintln(c.Out)
		if !ok {
			return Textf("No password was typed; nothing changed.")
		}
		fmt.Fprintln(c.Out, "Setting it and checking it from outside…")
		return c.Router.SetPassword(ctx, c.UserID, strings.TrimSuffix(pw, "\r"))
	}
}

// noEcho turns off the terminal's echo if in is a terminal and returns the
// function that turns it back on (safe to call twice).
func noEcho(in io.Reader) func() {
	f, ok := in.(*os.File)
	if !ok {
		return func() {}
	}
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {} // not a terminal
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ECHONL
	if unix.IoctlSetTermios(fd, unix.TCSETS, &quiet) != nil {
		return func() {}
	}
	var once sync.Once
	return func() { once.Do(func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }) }
}
