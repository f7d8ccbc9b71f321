//go:build !linux

package probe

import (
	"context"
	"errors"
	"time"
)

// engine needs epoll: the scanner runs on Linux only, as the bot does.
type engine struct{ done func() }

type job struct {
	h    *hostScan
	idx  int
	port int
}

func newEngine(*Scanner, *rttEstimator) (*engine, error) {
	return nil, errors.New("the port scanner needs Linux (epoll)")
}

func (e *engine) close() {}

func (e *engine) run(context.Context, []job, func(*hostScan) time.Duration) error {
	return errors.New("the port scanner needs Linux (epoll)")
}
