package tasks

import (
	"context"
	"sync"
	"time"
)

// DropletCache shares lists of droplets by tag among concurrent callers:
// forty runs waiting for their droplets, or forty students typing
// `/cicf status` as a lab starts, cost one API call per tag and moment, not
// forty. Callers say how old a list they accept.
type DropletCache struct {
	lister DropletLister
	now    func() time.Time

	mu    sync.Mutex // held during a fetch, so concurrent callers share it
	lists map[string]cachedList
}

type cachedList struct {
	at   time.Time
	list []Droplet
}

// NewDropletCache returns a cache in front of l whose lists age by now.
func NewDropletCache(l DropletLister, now func() time.Time) *DropletCache {
	return &DropletCache{lister: l, now: now, lists: map[string]cachedList{}}
}

// List returns the droplets carrying tag, listed at most maxAge ago (0:
// now). It fails as the lister does; a failure is not cached.
func (c *DropletCache) List(ctx context.Context, tag string, maxAge time.Duration) ([]Droplet, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.lists[tag]; ok && c.now().Sub(l.at) < maxAge {
		return l.list, nil
	}
	list, err := c.lister.ListDroplets(ctx, tag)
	if err != nil {
		return nil, err
	}
	c.lists[tag] = cachedList{at: c.now(), list: list}
	return list, nil
}

// Lister returns a DropletLister that accepts lists up to maxAge old.
func (c *DropletCache) Lister(maxAge time.Duration) DropletLister {
	return cacheLister{c: c, maxAge: maxAge}
}

type cacheLister struct {
	c      *DropletCache
	maxAge time.Duration
}

func (l cacheLister) ListDroplets(ctx context.Context, tag string) ([]Droplet, error) {
	return l.c.List(ctx, tag, l.maxAge)
}
