package store_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/store"
	"github.com/cicf/cicf-bot/tasks"
)

func TestCloudViewStore(t *testing.T) {
	s := store.NewCloudViewStore(MustOpenDB(t))
	ctx := t.Context()
	if _, err := s.CloudView(ctx, "cicf"); tasks.ErrorCode(err) != tasks.ENOTFOUND {
		t.Fatalf("CloudView before any save = %v, want ENOTFOUND", err)
	}
	t0 := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	first := &tasks.CloudView{Tag: "cicf", ListedAt: t0, CheckedAt: t0, Droplets: []tasks.Droplet{{
		ID: 7, Name: "emma.cicf.cloud", Status: "active", IPv4: "198.18.0.7", Region: "nyc3", Size: "s-1vcpu-2gb",
		Tags: []string{"cicf", "cicf-student:emma"}, CreatedAt: t0.Add(-time.Hour), PriceHourly: 0.01786,
	}}}
	failed := &tasks.CloudView{Tag: "cicf", ListedAt: t0, CheckedAt: t0.Add(time.Minute), Droplets: first.Droplets, Err: "DigitalOcean is not answering"}
	older := &tasks.CloudView{Tag: "cicf", ListedAt: t0.Add(-time.Minute), CheckedAt: t0.Add(-time.Minute)}
	for _, step := range []struct {
		save      *tasks.CloudView
		wantSaved bool
		want      *tasks.CloudView
	}{
		{first, true, first},
		{failed, true, failed},
		{older, false, failed}, // a slower replica's older answer loses
		{&tasks.CloudView{Tag: "other", CheckedAt: t0}, true, nil},
	} {
		saved, err := s.SaveCloudView(ctx, step.save)
		if err != nil || saved != step.wantSaved {
			t.Fatalf("SaveCloudView(checked %v) = %v, %v; want %v", step.save.CheckedAt, saved, err, step.wantSaved)
		}
		if step.want == nil {
			continue
		}
		got, err := s.CloudView(ctx, "cicf")
		if err != nil || !reflect.DeepEqual(got, step.want) {
			t.Fatalf("CloudView = %+v, %v\nwant %+v", got, err, step.want)
		}
	}
	if got, err := s.CloudView(ctx, "other"); err != nil || got.Droplets == nil || len(got.Droplets) != 0 || !got.ListedAt.IsZero() {
		t.Errorf("view of a tag with no droplet, never listed = %+v, %v; want an empty list and a zero ListedAt", got, err)
	}
}
