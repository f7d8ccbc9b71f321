package probe

import (
	"errors"
	"fmt"
	"slices"
	"syscall"
)

// isLocalResourceError reports errors that mean this machine ran out of
// file descriptors or local ports.
func isLocalResourceError(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.ENOBUFS)
}

// uniquePorts returns ports sorted and deduplicated, or an error naming the
// first port outside 1..65535.
func uniquePorts(ports []int) ([]int, error) {
	for _, p := range ports {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("port %d is outside 1..65535", p)
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(ports))), nil
}
