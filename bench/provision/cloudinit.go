package main

import (
	"context"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// slowCloudInit makes `cloud-init status --wait` on a simulated VM return
// only when cloud-init would have finished on a real droplet, a given time
// after the droplet came up; vmsim answers it at once. A real droplet runs
// cloud-init (packages, Docker) while the bot is still busy with DNS, so
// this shows how much of the bot's waiting for the API that hides.
type slowCloudInit struct {
	tasks.RemoteDialer
	after time.Duration // from the create request: boot plus cloud-init, compressed

	mu    sync.Mutex
	ready map[string]time.Time // by IPv4
}

// created notes that the droplet at ip was just created.
func (s *slowCloudInit) created(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready == nil {
		s.ready = map[string]time.Time{}
	}
	s.ready[ip] = time.Now().Add(s.after)
}

func (s *slowCloudInit) Dial(ctx context.Context, addr, user, hostKey string) (tasks.Remote, error) {
	rem, err := s.RemoteDialer.Dial(ctx, addr, user, hostKey)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(addr)
	s.mu.Lock()
	ready := s.ready[host]
	s.mu.Unlock()
	return &slowRemote{Remote: rem, ready: ready}, nil
}

type slowRemote struct {
	tasks.Remote
	ready time.Time
}

func (r *slowRemote) Run(ctx context.Context, cmd string) ([]byte, error) {
	if strings.HasPrefix(cmd, "cloud-init status") {
		t := time.NewTimer(time.Until(r.ready))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	return r.Remote.Run(ctx, cmd)
}
