package store_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

func newOffer(id string, created time.Time) *tasks.Offer {
	return &tasks.Offer{ID: id, Kind: tasks.OfferReset, Requester: "U0TEACH01",
		Targets:   []tasks.OfferTarget{{Name: "emma", SlackID: "U0EMMA001"}},
		CreatedAt: created, ExpiresAt: created.Add(tasks.OfferTTL)}
}

func TestOfferStore(t *testing.T) {
	db := MustOpenDB(t)
	s := store.NewOfferStore(db)
	ctx := t.Context()
	if err := s.CreateOffer(ctx, newOffer("a1", testNow)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeOffer(ctx, "a1", "U0EMMA001"); tasks.ErrorCode(err) != tasks.EFORBIDDEN {
		t.Fatalf("TakeOffer by another = %v, want EFORBIDDEN", err)
	}
	got, err := s.TakeOffer(ctx, "a1", "U0TEACH01")
	if err != nil {
		t.Fatalf("TakeOffer by the requester after another's try = %v", err)
	}
	want := newOffer("a1", testNow)
	if got.Kind != want.Kind || got.Requester != want.Requester || len(got.Targets) != 1 || got.Targets[0] != want.Targets[0] ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("TakeOffer = %+v, want %+v", got, want)
	}
	if _, err := s.TakeOffer(ctx, "a1", "U0TEACH01"); tasks.ErrorCode(err) != tasks.ENOTFOUND {
		t.Errorf("second TakeOffer = %v, want ENOTFOUND", err)
	}

	// Listing shows live offers only; a new offer sweeps expired ones out.
	for i, id := range []string{"old", "live"} {
		if err := s.CreateOffer(ctx, newOffer(id, testNow.Add(time.Duration(i)*4*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	later := testNow.Add(6 * time.Minute)
	list, err := s.ListOffers(ctx, later)
	if err != nil || len(list) != 1 || list[0].ID != "live" {
		t.Fatalf("ListOffers at +6m = %v, %v; want [live]", list, err)
	}
	if err := s.CreateOffer(ctx, newOffer("new", later)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeOffer(ctx, "old", "U0TEACH01"); tasks.ErrorCode(err) != tasks.ENOTFOUND {
		t.Errorf("an offer expired before a new one was made is still there: %v", err)
	}
}

// Two replicas on one database take one offer at once: exactly one gets it.
func TestOfferStore_takeOnceAcrossHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cicf-bot.db")
	a := store.NewOfferStore(MustOpenDBAt(t, path, time.Now))
	b := store.NewOfferStore(MustOpenDBAt(t, path, time.Now))
	for round := range 20 {
		id := "r" + string(rune('a'+round))
		if err := a.CreateOffer(t.Context(), newOffer(id, testNow)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() { _, errs[i] = s.TakeOffer(t.Context(), id, "U0TEACH01") })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case tasks.ErrorCode(err) != tasks.ENOTFOUND:
				t.Fatalf("round %d: TakeOffer = %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d takes of one offer succeeded, want 1", round, won)
		}
	}
}
