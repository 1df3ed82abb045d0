package debhelper

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/limits"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

func TestParseConfig(t *testing.T) {
	two := []string{"foo", "foo-data"}
	one := []string{"foo"}
	yes := true
	tests := []struct {
		name    string
		doc     string
		pkgs    []string
		want    *Config
		wantErr string
	}{
		{name: "empty", doc: "", pkgs: one, want: &Config{File: "loupe.yaml"}},
		{name: "comments only", doc: "# nothing\n", pkgs: one, want: &Config{File: "loupe.yaml"}},
		{
			name: "everything",
			doc: `mode: analyze
strict: true
replicas: 5
jobs: 2
timeout: 45m
granularity: features
strategy: exhaustive
follow: ptrace
helpers: full
binaries:
  add:
    - path: debian/build-x/foo
      package: foo
      installed: /usr/bin/foo
    - path: src/.libs/*
      package: foo-data
  exclude:
    - tests/*
    - /usr/lib/foo/helper
stand-ins:
  src/foo-debug: /usr/bin/foo
  obj-*/tests/foo.static: /usr/bin/foo
`,
			pkgs: two,
			want: &Config{File: "loupe.yaml",
				Tuning: Tuning{Mode: ModeAnalyze, Strict: &yes, Replicas: 5, Jobs: 2, Timeout: 45 * time.Minute,
					Granularity: verdict.GranFeatures, Helpers: HelpersFull, Strategy: verdict.StrategyExhaustive, Follow: verdict.FollowPtrace},
				Add: []AddRule{{Path: "debian/build-x/foo", Package: "foo", Installed: "/usr/bin/foo"},
					{Path: "src/.libs/*", Package: "foo-data"}},
				Exclude: []string{"tests/*", "/usr/lib/foo/helper"},
				StandIns: []StandIn{{Path: "src/foo-debug", Installed: "/usr/bin/foo", Line: 21},
					{Path: "obj-*/tests/foo.static", Installed: "/usr/bin/foo", Line: 22}}},
		},
		{name: "package inferred when only one", doc: "binaries:\n  add:\n    - build/foo\n", pkgs: one,
			want: &Config{File: "loupe.yaml", Add: []AddRule{{Path: "build/foo", Package: "foo"}}}},
		{name: "not a mapping", doc: "- mode\n", pkgs: one,
			wantErr: "loupe.yaml:1: the top level: expected a mapping (key: value lines), found a list"},
		{name: "unknown key", doc: "mode: trace\nreplica: 3\n", pkgs: one,
			wantErr: "loupe.yaml:2: field replica: unknown key (known keys: mode, strict, replicas, jobs, timeout, granularity, helpers, strategy, follow, binaries, stand-ins)"},
		{name: "bad helpers", doc: "helpers: all\n", pkgs: one,
			wantErr: `loupe.yaml:1: field helpers: want compact or full, found "all"`},
		{name: "stand-ins not a mapping", doc: "stand-ins:\n  - src/foo-debug\n", pkgs: one,
			wantErr: "loupe.yaml:2: field stand-ins: expected a mapping of build-tree paths to installed paths (src/foo-debug: /usr/bin/foo), found a list"},
		{name: "stand-in absolute", doc: "stand-ins:\n  /build/foo-debug: /usr/bin/foo\n", pkgs: one,
			wantErr: `loupe.yaml:2: field stand-ins./build/foo-debug: want a clean build-tree path relative to the source tree (src/foo-debug), found "/build/foo-debug"`},
		{name: "stand-in outside", doc: "stand-ins:\n  ../foo-debug: /usr/bin/foo\n", pkgs: one,
			wantErr: `loupe.yaml:2: field stand-ins.../foo-debug: want a clean build-tree path relative to the source tree (src/foo-debug), found "../foo-debug"`},
		{name: "stand-in unclean", doc: "stand-ins:\n  src//foo-debug: /usr/bin/foo\n", pkgs: one,
			wantErr: `loupe.yaml:2: field stand-ins.src//foo-debug: want a clean build-tree path relative to the source tree (src/foo-debug), found "src//foo-debug"`},
		{name: "stand-in bad glob", doc: "stand-ins:\n  'src/[': /usr/bin/foo\n", pkgs: one,
			wantErr: `loupe.yaml:2: field stand-ins.src/[: bad glob "src/[": syntax error in pattern`},
		{name: "stand-in twice", doc: "stand-ins:\n  src/foo-debug: /usr/bin/foo\n  src/foo-debug: /usr/bin/bar\n", pkgs: one,
			wantErr: "loupe.yaml:3: field stand-ins.src/foo-debug: given twice"},
		{name: "stand-in relative installed", doc: "\nstand-ins:\n  src/foo-debug: usr/bin/foo\n", pkgs: one,
			wantErr: `loupe.yaml:3: field stand-ins.src/foo-debug: want the clean absolute installed path it stands for (/usr/bin/foo), found "usr/bin/foo"`},
		{name: "stand-in without installed", doc: "stand-ins:\n  src/foo-debug:\n", pkgs: one,
			wantErr: `loupe.yaml:2: field stand-ins.src/foo-debug: want the clean absolute installed path it stands for (/usr/bin/foo), found nothing`},
		{name: "stand-in installed glob", doc: "stand-ins:\n  src/foo-debug: /usr/bin/foo*\n", pkgs: one,
			wantErr: `loupe.yaml:2: field stand-ins.src/foo-debug: want one installed path, not a glob, found "/usr/bin/foo*"`},
		{name: "bad mode", doc: "\n\nmode: anlyze\n", pkgs: one,
			wantErr: `loupe.yaml:3: field mode: unknown mode "anlyze" (want off, trace or analyze)`},
		{name: "bad strict", doc: "strict: sometimes\n", pkgs: one,
			wantErr: `loupe.yaml:1: field strict: want true or false, found "sometimes"`},
		{name: "bad strategy", doc: "strategy: quick\n", pkgs: one,
			wantErr: `loupe.yaml:1: field strategy: want adaptive or exhaustive, found "quick"`},
		{name: "bad replicas", doc: "replicas: 0\n", pkgs: one,
			wantErr: `loupe.yaml:1: field replicas: want a whole number from 1 to 100, found "0"`},
		{name: "negative replicas", doc: "replicas: -3\n", pkgs: one,
			wantErr: `loupe.yaml:1: field replicas: want a whole number from 1 to 100, found "-3"`},
		{name: "overflowing jobs", doc: "jobs: 99999999999999999999\n", pkgs: one,
			wantErr: `loupe.yaml:1: field jobs: want a whole number from 1 to 256, found "99999999999999999999"`},
		{name: "bad jobs", doc: "jobs: [1]\n", pkgs: one,
			wantErr: `loupe.yaml:1: field jobs: want a whole number from 1 to 256, found ""`},
		{name: "bad timeout", doc: "timeout: soon\n", pkgs: one,
			wantErr: `loupe.yaml:1: field timeout: want a duration such as 90s, 30m or 2h (at most 24h), whole seconds, or 0 or auto for automatic (3 x the slowest baseline run, at least 5s), found "soon"`},
		{name: "negative timeout", doc: "timeout: -1s\n", pkgs: one,
			wantErr: `loupe.yaml:1: field timeout: want a duration such as 90s, 30m or 2h (at most 24h), whole seconds, or 0 or auto for automatic (3 x the slowest baseline run, at least 5s), found "-1s"`},
		{name: "overflowing timeout", doc: "timeout: 10000000000\n", pkgs: one,
			wantErr: `loupe.yaml:1: field timeout: want a duration such as 90s, 30m or 2h (at most 24h), whole seconds, or 0 or auto for automatic (3 x the slowest baseline run, at least 5s), found "10000000000"`},
		{name: "wrapping timeout", doc: "timeout: 18446744074\n", pkgs: one,
			wantErr: `loupe.yaml:1: field timeout: want a duration such as 90s, 30m or 2h (at most 24h), whole seconds, or 0 or auto for automatic (3 x the slowest baseline run, at least 5s), found "18446744074"`},
		{name: "automatic timeout", doc: "timeout: 0\n", pkgs: one, want: &Config{File: "loupe.yaml", Tuning: Tuning{TimeoutAuto: true}}},
		{name: "bad granularity", doc: "mode: analyze\ngranularity: files\n", pkgs: one,
			wantErr: `loupe.yaml:2: field granularity: want syscalls, features or pseudo-files, found "files"`},
		{name: "granularity not a scalar", doc: "granularity: [features]\n", pkgs: one,
			wantErr: `loupe.yaml:1: field granularity: want syscalls, features or pseudo-files, found ""`},
		{name: "duplicate key", doc: "mode: trace\nmode: off\n", pkgs: one,
			wantErr: "loupe.yaml:2: field mode: given twice"},
		{name: "binaries not a mapping", doc: "binaries: [a]\n", pkgs: one,
			wantErr: "loupe.yaml:1: field binaries: expected a mapping (key: value lines), found a list"},
		{name: "unknown binaries key", doc: "binaries:\n  include: [a]\n", pkgs: one,
			wantErr: "loupe.yaml:2: field binaries.include: unknown key (known keys: add, exclude)"},
		{name: "add not a list", doc: "binaries:\n  add: foo\n", pkgs: one,
			wantErr: `loupe.yaml:2: field binaries.add: expected a list, found "foo"`},
		{name: "package needed", doc: "binaries:\n  add:\n    - path: build/foo\n", pkgs: two,
			wantErr: "loupe.yaml:3: field binaries.add[0].package: missing: this source builds 2 packages (foo, foo-data); say which one ships build/foo"},
		{name: "unknown package", doc: "binaries:\n  add:\n    - path: build/foo\n      package: bar\n", pkgs: two,
			wantErr: `loupe.yaml:4: field binaries.add[0].package: "bar" is not a binary package of debian/control (foo, foo-data)`},
		{name: "absolute add path", doc: "binaries:\n  add:\n    - /usr/bin/foo\n", pkgs: one,
			wantErr: `loupe.yaml:3: field binaries.add[0].path: want a path relative to the source tree, found "/usr/bin/foo"`},
		{name: "add path outside", doc: "binaries:\n  add:\n    - ../foo\n", pkgs: one,
			wantErr: `loupe.yaml:3: field binaries.add[0].path: want a path relative to the source tree, found "../foo"`},
		{name: "missing add path", doc: "binaries:\n  add:\n    - package: foo\n", pkgs: one,
			wantErr: "loupe.yaml:3: field binaries.add[0].path: missing (the build-tree path or glob of the executable)"},
		{name: "relative installed", doc: "binaries:\n  add:\n    - path: a\n      installed: usr/bin/a\n", pkgs: one,
			wantErr: `loupe.yaml:4: field binaries.add[0].installed: want a clean absolute path such as /usr/bin/foo, found "usr/bin/a"`},
		{name: "bad glob", doc: "binaries:\n  exclude:\n    - 'tests/['\n", pkgs: one,
			wantErr: `loupe.yaml:3: field binaries.exclude[0]: bad glob "tests/[": syntax error in pattern`},
		{name: "invalid yaml", doc: "mode: trace\n  strict: [\n", pkgs: one,
			wantErr: "loupe.yaml:2: invalid YAML: mapping values are not allowed in this context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig("loupe.yaml", []byte(tt.doc), tt.pkgs)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error\n got %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	if c, err := LoadConfig(dir, nil); c != nil || err != nil {
		t.Fatalf("absent file: %v, %v; want nil, nil", c, err)
	}
	os.MkdirAll(filepath.Join(dir, "debian"), 0o755)
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte("mode: off\n"), 0o644)
	c, err := LoadConfig(dir, []string{"x"})
	if err != nil || c.Mode != ModeOff || c.File != ConfigFile {
		t.Fatalf("got %+v, %v", c, err)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("mode: analyze\nbinaries:\n  add:\n    - path: a/*\n  exclude: [b]\n"))
	f.Add([]byte("timeout: 5m\nstrict: yes\n"))
	f.Add([]byte("timeout: 10000000000\nreplicas: -1\n"))
	f.Add([]byte("helpers: full\nstand-ins:\n  src/foo-debug: /usr/bin/foo\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("loupe.yaml", data, []string{"foo"})
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
		if _, ok := err.(*ConfigError); err != nil && !ok {
			t.Fatalf("error of type %T: %v", err, err)
		}
		// What is accepted is within bounds: never "no limit".
		if err == nil && (c.Timeout < 0 || c.Timeout > limits.MaxTimeout || c.Replicas < 0 || c.Replicas > limits.MaxReplicas || c.Jobs < 0 || c.Jobs > limits.MaxJobs) {
			t.Fatalf("accepted out of bounds: %+v", c.Tuning)
		}
	})
}
