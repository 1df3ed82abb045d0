package plan

import (
	"reflect"
	"testing"

	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
)

// TestUnknownApps: a mistyped --apps name is warned about with the closest
// name of the dataset, once, and the no-data reason says the same.
func TestUnknownApps(t *testing.T) {
	entries := []dataset.Entry{{Name: "nginx"}, {Name: "redis"}, {Name: "redis"}, {Name: "memcached"}}
	for _, tt := range []struct {
		name string
		only []string
		want []string
	}{
		{"all known", []string{"nginx", "redis"}, nil},
		{"typo", []string{"ngnix", "redis"}, []string{`--apps: "ngnix" is not in the dataset (did you mean "nginx"?)`}},
		{"nothing close", []string{"firefox"}, []string{`--apps: "firefox" is not in the dataset`}},
		{"named twice", []string{"redsi", "redsi"}, []string{`--apps: "redsi" is not in the dataset (did you mean "redis"?)`}},
		{"no restriction", nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := UnknownApps(entries, tt.only); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("UnknownApps(%q) = %q, want %q", tt.only, got, tt.want)
			}
		})
	}
	_, nodata := Apps(entries, Any, false, []string{"ngnix"})
	if len(nodata) != 1 || nodata[0].Reason != `"ngnix" is not in the dataset (did you mean "nginx"?)` {
		t.Errorf("no data %+v", nodata)
	}
}

func TestActionMeets(t *testing.T) {
	req, stub, fake, both, traced := dataset.Tested, dataset.Tested|dataset.StubOK, dataset.Tested|dataset.FakeOK,
		dataset.Tested|dataset.StubOK|dataset.FakeOK, dataset.State(0)
	for _, tt := range []struct {
		a    Action
		st   dataset.State
		want bool
	}{
		{Implemented, req, true}, {Implemented, traced, true},
		{Stubbed, stub, true}, {Stubbed, both, true}, {Stubbed, fake, false}, {Stubbed, req, false}, {Stubbed, traced | dataset.StubOK, false},
		{Faked, fake, true}, {Faked, both, true}, {Faked, stub, false}, {Faked, req, false},
		{Absent, both, false},
	} {
		if got := tt.a.Meets(tt.st); got != tt.want {
			t.Errorf("%s.Meets(%s) = %v, want %v", tt.a, tt.st.Class(), got, tt.want)
		}
	}
}
