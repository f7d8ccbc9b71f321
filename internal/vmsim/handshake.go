package vmsim

import "context"

// Handshake answers as Dial does (unreachable, or a host key that differs
// from the pin), without opening a session.
func (f *Fleet) Handshake(ctx context.Context, addr, hostKey string) error {
	r, err := f.Dial(ctx, addr, "", hostKey)
	if err == nil {
		r.Close()
	}
	return err
}
