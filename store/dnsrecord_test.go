package store_test

import (
	"slices"
	"testing"

	"github.com/cicf/cicf-bot/store"
)

func TestDNSRecordStore(t *testing.T) {
	s := store.NewDNSRecordStore(MustOpenDB(t))
	ctx := t.Context()
	for _, step := range []struct {
		add, remove []int
		name        string
		want        []int
	}{
		{add: []int{7, 3}, name: "zoe", want: []int{3, 7}},
		{add: []int{3, 9}, name: "zoe", want: []int{3, 7, 9}},  // a known ID is kept once
		{remove: []int{7, 42}, name: "zoe", want: []int{3, 9}}, // unknown IDs are ignored
		{add: []int{11}, name: "emma", want: []int{11}},
	} {
		if err := s.AddRecordIDs(ctx, "cicf.cloud", step.name, step.add); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveRecordIDs(ctx, "cicf.cloud", step.remove); err != nil {
			t.Fatal(err)
		}
		got, err := s.RecordIDs(ctx, "cicf.cloud", step.name)
		if err != nil || !slices.Equal(got, step.want) {
			t.Fatalf("after +%v -%v: RecordIDs(%s) = %v, %v; want %v", step.add, step.remove, step.name, got, err, step.want)
		}
	}
	if got, err := s.RecordIDs(ctx, "other.example", "zoe"); err != nil || len(got) != 0 {
		t.Errorf("RecordIDs in another domain = %v, %v; want none", got, err)
	}
}
