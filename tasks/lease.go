package tasks

import (
	"context"
	"time"

	"github.com/robfig/cron/v3"
)

// Leases grants each named lease to one holder at a time, for a while:
// replicas of the bot sharing a database ask it before each scheduled run,
// so that a run happens once across them, not once per replica.
type Leases interface {
	// Acquire takes the lease name for holder until ttl from now if it is
	// free, expired or holder's already (a renewal), in one conditional
	// write: of two replicas asking at once, one gets it. It reports whether
	// holder holds the lease, and returns an internal error if the store
	// fails.
	Acquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// Release gives up holder's lease name, so another replica takes it at
	// its next run instead of waiting for the lease to expire; a lease
	// holder does not hold is left alone. It returns an internal error if
	// the store fails.
	Release(ctx context.Context, name, holder string) error
}

// leaseMargin is added to a job's lease beyond its period or deadline: a
// tick that starts a little late still finds its own lease, not another
// replica's.
const leaseMargin = 15 * time.Second

// leaseTTL returns how long one run of a job on sched with deadline
// timeout holds the job's lease.
//
// It is at least the deadline: a run in flight keeps its lease, so no other
// replica starts the same job meanwhile. An "@every" schedule counts from
// each process's start, so two replicas tick at different moments: the
// lease then also lasts a period, and the holder renews it at each of its
// ticks before it lapses. Other specs tick at the same wall-clock moments
// on every replica (same time zone), so a lease as long as the deadline is
// enough to keep the second replica out of the same tick, and a replica
// that dies holding the daily digest's lease does not make the next day's
// digest wait for it.
func leaseTTL(sched cron.Schedule, timeout time.Duration) time.Duration {
	ttl := timeout
	if every, ok := sched.(cron.ConstantDelaySchedule); ok && every.Delay > ttl {
		ttl = every.Delay
	}
	return ttl + leaseMargin
}
