package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"read", "read", 0},
		{"raed", "read", 1}, // transposition
		{"fnctl", "fcntl", 1},
		{"fnctl", "ioctl", 2},
		{"wirte", "write", 1},
		{"", "abc", 3},
		{"abc", "", 3},
		{"kitten", "sitting", 3},
		{"TCGEST", "TCGETS", 1},
	} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Distance(tt.b, tt.a); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	apps := []string{"memcached", "nginx", "redis", "sqlite", "weborf"}
	for _, tt := range []struct {
		name      string
		known     []string
		spellings []string
		want      string
	}{
		{"typo", apps, []string{"ngnix"}, "nginx"},
		{"missing letter", apps, []string{"memcache"}, "memcached"},
		{"nothing close", apps, []string{"firefox"}, ""},
		{"short and far", []string{"db", "plan"}, []string{"frob"}, ""},
		{"exact", apps, []string{"redis"}, "redis"},
		{"empty input", apps, []string{""}, ""},
		{"no spellings", apps, nil, ""},
		{"tie goes to the first known", []string{"ab", "ba"}, []string{"aa"}, "ab"},
		{"alternative spelling", []string{"TCGETS", "TCSETS"}, []string{"tcgets", "TCGETS"}, "TCGETS"},
		{"too long to compare", apps, []string{string(make([]byte, 100))}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Closest(tt.known, tt.spellings...); got != tt.want {
				t.Errorf("Closest(%q) = %q, want %q", tt.spellings, got, tt.want)
			}
		})
	}
}
