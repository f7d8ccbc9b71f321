package store_test

import (
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

func TestAlertService_mutes(t *testing.T) {
	s := store.NewAlertService(MustOpenDB(t))
	ctx := t.Context()
	mute := func(vm string, d time.Duration) error {
		return s.Mute(ctx, tasks.Mute{VM: vm, Until: testNow.Add(d), By: "U0TEACH01", Reason: "maintenance"}, testNow)
	}
	for _, c := range []struct {
		vm string
		d  time.Duration
	}{{"", time.Hour}, {"emma", 0}, {"emma", -time.Minute}, {"emma", tasks.MaxMute + time.Second}} {
		if err := mute(c.vm, c.d); tasks.ErrorCode(err) != tasks.EINVALID {
			t.Errorf("Mute(%q, %s) = %v, want EINVALID", c.vm, c.d, err)
		}
	}
	if err := mute("emma", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := mute("emma", time.Hour); err != nil { // replaces
		t.Fatal(err)
	}
	if err := mute(tasks.MuteAll, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := mute("ana", tasks.MaxMute); err != nil {
		t.Fatal(err)
	}
	got, err := s.ActiveMutes(ctx, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].VM != tasks.MuteAll || got[1].VM != "ana" || got[2].VM != "emma" ||
		!got[2].Until.Equal(testNow.Add(time.Hour)) || got[2].By != "U0TEACH01" || got[2].Reason != "maintenance" {
		t.Fatalf("ActiveMutes = %+v", got)
	}
	if err := s.Unmute(ctx, "ana", "U0TEACH02", testNow); err != nil {
		t.Fatal(err)
	}
	if err := s.Unmute(ctx, "ana", "U0TEACH02", testNow); tasks.ErrorCode(err) != tasks.ENOTFOUND {
		t.Errorf("second Unmute = %v, want ENOTFOUND", err)
	}
	// An hour on, emma's mute has ended (until == now counts as ended).
	later := testNow.Add(time.Hour)
	if got, err := s.ActiveMutes(ctx, later); err != nil || len(got) != 1 || got[0].VM != tasks.MuteAll {
		t.Errorf("ActiveMutes an hour on = %+v, %v; want only the mute of all", got, err)
	}
	expired, err := s.ExpireMutes(ctx, later)
	if err != nil {
		t.Fatal(err)
	}
	if len(expired) != 1 || expired[0].VM != "emma" {
		t.Errorf("ExpireMutes = %+v, want emma's", expired)
	}
	if again, err := s.ExpireMutes(ctx, later); err != nil || len(again) != 0 {
		t.Errorf("second ExpireMutes = %+v, %v; want none", again, err)
	}
	evs, err := s.EventsSince(ctx, time.Time{}, tasks.EventMuted, tasks.EventUnmuted)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, string(e.Kind)+":"+e.VM+":"+e.By)
	}
	want := []string{"muted:emma:U0TEACH01", "muted:emma:U0TEACH01", "muted:*:U0TEACH01", "muted:ana:U0TEACH01",
		"unmuted:ana:U0TEACH02", "unmuted:emma:"}
	if len(kinds) != len(want) {
		t.Fatalf("events %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Errorf("event %d = %s, want %s", i, kinds[i], want[i])
		}
	}
	if !evs[0].Until.Equal(testNow.Add(time.Minute)) || evs[0].Detail != "maintenance" {
		t.Errorf("muted event = %+v, want until and reason", evs[0])
	}
}
