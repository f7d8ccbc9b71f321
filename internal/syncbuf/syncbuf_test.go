package syncbuf

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// TestBuffer writes from several goroutines while reading; run with -race
// (as the repository's final check does) it fails if a lock is missing.
func TestBuffer(t *testing.T) {
	var b Buffer
	var _ io.Writer = &b
	logger := slog.New(slog.NewTextHandler(&b, nil))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				logger.Info("line", "writer", i, "n", j)
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	out := b.String()
	if got := strings.Count(out, "msg=line"); got != 8*50 {
		t.Errorf("%d lines, want %d", got, 8*50)
	}
	for i := range 8 {
		if !strings.Contains(out, fmt.Sprintf("writer=%d n=49", i)) {
			t.Errorf("writer %d's last line is missing", i)
		}
	}
}
