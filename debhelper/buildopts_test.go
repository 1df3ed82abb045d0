package debhelper

import (
	"cmp"
	"reflect"
	"strings"
	"testing"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/limits"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

func TestParseBuildOptions(t *testing.T) {
	b := ParseBuildOptions("  parallel=4 loupe=trace nocheck=1 Bad loupe=analyze,strict  noopt terse parallel=x ")
	if v, _ := b.Get("loupe"); v != "analyze,strict" {
		t.Errorf("loupe = %q, want the last loupe= flag", v)
	}
	if v, ok := b.Get("nocheck"); !ok || v != "" {
		t.Errorf("nocheck = %q, %v; want present without value", v, ok)
	}
	if b.Parallel() != 4 {
		t.Errorf("parallel = %d, want 4 (parallel=x is refused by dpkg)", b.Parallel())
	}
	if !reflect.DeepEqual(b.Invalid, []string{"Bad"}) {
		t.Errorf("invalid = %q", b.Invalid)
	}
	if ParseBuildOptions("").Parallel() != 1 {
		t.Error("default parallel must be 1")
	}
}

func TestNoCheck(t *testing.T) {
	for _, tt := range []struct {
		env  []string
		want bool
	}{
		{nil, false},
		{[]string{"DEB_BUILD_OPTIONS=parallel=2 nocheck"}, true},
		{[]string{"DEB_BUILD_OPTIONS=nocheckx"}, false},
		{[]string{"DEB_BUILD_PROFILES=nodoc nocheck"}, true},
		{[]string{"DEB_BUILD_PROFILES=pkg.foo.nocheck"}, false},
	} {
		if got := NoCheck(tt.env); got != tt.want {
			t.Errorf("NoCheck(%q) = %v, want %v", tt.env, got, tt.want)
		}
	}
}

func TestParseLoupeOption(t *testing.T) {
	yes := true
	tests := []struct {
		in      string
		want    Tuning
		wantErr string
	}{
		{in: "off", want: Tuning{Mode: ModeOff}},
		{in: "trace", want: Tuning{Mode: ModeTrace}},
		{in: "analyze,strict,replicas=5,jobs=2,timeout=90s",
			want: Tuning{Mode: ModeAnalyze, Strict: &yes, Replicas: 5, Jobs: 2, Timeout: 90 * time.Second}},
		{in: "strict,trace", want: Tuning{Mode: ModeTrace, Strict: &yes}},
		{in: "analyze,timeout=600", want: Tuning{Mode: ModeAnalyze, Timeout: 10 * time.Minute}},
		{in: "replicas=2", want: Tuning{Replicas: 2}},
		{in: "anlyze,strict", want: Tuning{Strict: &yes}, wantErr: `unknown mode or flag "anlyze"`},
		{in: "trace,analyze", want: Tuning{Mode: ModeTrace}, wantErr: "two modes"},
		{in: "analyze,replicas=0", want: Tuning{Mode: ModeAnalyze}, wantErr: `replicas="0"`},
		{in: "analyze,jobs=x", want: Tuning{Mode: ModeAnalyze}, wantErr: `jobs="x"`},
		{in: "analyze,timeout=-1s", want: Tuning{Mode: ModeAnalyze}, wantErr: `timeout="-1s": want a duration such as 90s, 30m or 2h (at most 24h)`},
		// Whole seconds that overflowed: 1e10 s became negative (no limit),
		// 18446744074 s wrapped to 290 ms.
		{in: "analyze,timeout=10000000000", want: Tuning{Mode: ModeAnalyze}, wantErr: `timeout="10000000000": want a duration such as 90s, 30m or 2h (at most 24h)`},
		{in: "analyze,timeout=18446744074", want: Tuning{Mode: ModeAnalyze}, wantErr: `timeout="18446744074": want`},
		{in: "analyze,timeout=25h", want: Tuning{Mode: ModeAnalyze}, wantErr: `timeout="25h": want`},
		{in: "analyze,timeout=0", want: Tuning{Mode: ModeAnalyze, TimeoutAuto: true}},
		{in: "analyze,timeout=auto", want: Tuning{Mode: ModeAnalyze, TimeoutAuto: true}},
		{in: "analyze,replicas=-2", want: Tuning{Mode: ModeAnalyze}, wantErr: `replicas="-2": want a whole number from 1 to 100`},
		{in: "analyze,replicas=101", want: Tuning{Mode: ModeAnalyze}, wantErr: `replicas="101": want a whole number from 1 to 100`},
		{in: "analyze,jobs=9223372036854775808", want: Tuning{Mode: ModeAnalyze}, wantErr: `jobs="9223372036854775808": want a whole number from 1 to 256`},
		{in: "trace,,strict", want: Tuning{Mode: ModeTrace, Strict: &yes}, wantErr: "empty element"},
		{in: "trace,color=red", want: Tuning{Mode: ModeTrace}, wantErr: `unknown setting "color"`},
		{in: "analyze,granularity=features", want: Tuning{Mode: ModeAnalyze, Granularity: verdict.GranFeatures}},
		{in: "granularity=pseudo-files,analyze", want: Tuning{Mode: ModeAnalyze, Granularity: verdict.GranPseudoFiles}},
		{in: "analyze,granularity=syscalls", want: Tuning{Mode: ModeAnalyze, Granularity: verdict.GranSyscalls}},
		{in: "analyze,granularity=feature", want: Tuning{Mode: ModeAnalyze}, wantErr: `granularity="feature": want syscalls, features or pseudo-files`},
		{in: "analyze,granularity=", want: Tuning{Mode: ModeAnalyze}, wantErr: `granularity=""`},
		{in: "analyze,strategy=exhaustive", want: Tuning{Mode: ModeAnalyze, Strategy: verdict.StrategyExhaustive}},
		{in: "strategy=adaptive,analyze", want: Tuning{Mode: ModeAnalyze, Strategy: verdict.StrategyAdaptive}},
		{in: "analyze,strategy=fast", want: Tuning{Mode: ModeAnalyze}, wantErr: `strategy="fast": want adaptive or exhaustive`},
		{in: "analyze,follow=ptrace", want: Tuning{Mode: ModeAnalyze, Follow: verdict.FollowPtrace}},
		{in: "follow=notify,analyze", want: Tuning{Mode: ModeAnalyze, Follow: verdict.FollowNotify}},
		{in: "analyze,follow=seccomp", want: Tuning{Mode: ModeAnalyze}, wantErr: `follow="seccomp": want auto, notify or ptrace`},
		{in: "trace,helpers=full", want: Tuning{Mode: ModeTrace, Helpers: HelpersFull}},
		{in: "helpers=compact,analyze", want: Tuning{Mode: ModeAnalyze, Helpers: HelpersCompact}},
		{in: "trace,helpers=all", want: Tuning{Mode: ModeTrace}, wantErr: `helpers="all": want compact or full`},
	}
	for _, tt := range tests {
		got, err := ParseLoupeOption(tt.in)
		if tt.wantErr == "" && err != nil {
			t.Errorf("%q: %v", tt.in, err)
		}
		if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%q: error %v, want %q", tt.in, err, tt.wantErr)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestResolveSettings(t *testing.T) {
	cfgTrace := &Config{File: ConfigFile, Tuning: Tuning{Mode: ModeTrace, Replicas: 7}}
	cfgTuneOnly := &Config{File: ConfigFile, Tuning: Tuning{Replicas: 7}}
	cfgFeatures := &Config{File: ConfigFile, Tuning: Tuning{Mode: ModeAnalyze, Replicas: 7, Granularity: verdict.GranFeatures}}
	cfgJobs := &Config{File: ConfigFile, Tuning: Tuning{Mode: ModeAnalyze, Jobs: 3}}
	cfgFull := &Config{File: ConfigFile, Tuning: Tuning{Mode: ModeTrace, Replicas: 7, Helpers: HelpersFull}}
	cfgPtrace := &Config{File: ConfigFile, Tuning: Tuning{Mode: ModeAnalyze, Follow: verdict.FollowPtrace}}
	tests := []struct {
		name          string
		gran          verdict.Granularity // "": syscalls
		strategy      verdict.Strategy    // "": adaptive
		follow        verdict.Follow      // "": auto
		helpers       HelperDetail        // "": compact
		env           []string
		cfg           *Config
		artifacts     bool
		traced        bool
		mode          Mode
		strict        bool
		replicas      int
		jobs          int
		problems      int
		wantWhySubstr string
	}{
		{name: "nothing asked: addon loaded but inert", mode: ModeTrace, replicas: 3, jobs: 1},
		{name: "DBO trace", env: []string{"DEB_BUILD_OPTIONS=loupe=trace"}, artifacts: true, traced: true,
			mode: ModeTrace, replicas: 3, jobs: 1, wantWhySubstr: "DEB_BUILD_OPTIONS"},
		{name: "last loupe= wins", env: []string{"DEB_BUILD_OPTIONS=loupe=analyze loupe=off"},
			mode: ModeOff, replicas: 3, jobs: 1},
		{name: "config mode asks", cfg: cfgTrace, artifacts: true, traced: true, mode: ModeTrace,
			replicas: 7, jobs: 1, wantWhySubstr: "debian/loupe.yaml"},
		{name: "config without mode does not ask", cfg: cfgTuneOnly, mode: ModeTrace, replicas: 7, jobs: 1},
		{name: "DBO wins over config", env: []string{"DEB_BUILD_OPTIONS=loupe=analyze,replicas=2,strict"},
			cfg: cfgTrace, artifacts: true, traced: true, mode: ModeAnalyze, strict: true, replicas: 2, jobs: 1},
		{name: "DBO keeps config settings it does not give", env: []string{"DEB_BUILD_OPTIONS=loupe=analyze"},
			cfg: cfgTrace, artifacts: true, traced: true, mode: ModeAnalyze, replicas: 7, jobs: 1},
		{name: "rebuild", env: []string{"DH_EXTRA_ADDONS=foo,loupe"}, artifacts: true, traced: true,
			mode: ModeTrace, replicas: 3, jobs: 1, wantWhySubstr: "DH_EXTRA_ADDONS"},
		{name: "rebuild turned off", env: []string{"DH_EXTRA_ADDONS=loupe", "DEB_BUILD_OPTIONS=loupe=off"},
			mode: ModeOff, replicas: 3, jobs: 1},
		{name: "nocheck: artifacts but no tracing", env: []string{"DEB_BUILD_OPTIONS=nocheck loupe=trace"},
			artifacts: true, mode: ModeTrace, replicas: 3, jobs: 1},
		{name: "granularity from config", cfg: cfgFeatures, artifacts: true, traced: true, mode: ModeAnalyze,
			replicas: 7, jobs: 1, gran: verdict.GranFeatures},
		{name: "DBO granularity wins", env: []string{"DEB_BUILD_OPTIONS=loupe=analyze,granularity=pseudo-files"},
			cfg: cfgFeatures, artifacts: true, traced: true, mode: ModeAnalyze, replicas: 7, jobs: 1, gran: verdict.GranPseudoFiles},
		{name: "helpers from config", cfg: cfgFull, artifacts: true, traced: true, mode: ModeTrace,
			replicas: 7, jobs: 1, helpers: HelpersFull},
		{name: "DBO helpers wins", env: []string{"DEB_BUILD_OPTIONS=loupe=trace,helpers=compact"},
			cfg: cfgFull, artifacts: true, traced: true, mode: ModeTrace, replicas: 7, jobs: 1, helpers: HelpersCompact},
		{name: "bad granularity: a problem", env: []string{"DEB_BUILD_OPTIONS=loupe=analyze,granularity=calls"},
			artifacts: true, mode: ModeAnalyze, replicas: 3, jobs: 1, problems: 1},
		{name: "bad value: artifacts with an error, no tracing", env: []string{"DEB_BUILD_OPTIONS=loupe=trace,stric"},
			artifacts: true, mode: ModeTrace, replicas: 3, jobs: 1, problems: 1},
		// Jobs: jobs= wins, else the build's parallel=N, else serial (as
		// debhelper does for the build itself).
		{name: "jobs from parallel=N", env: []string{"DEB_BUILD_OPTIONS=parallel=4 loupe=analyze"},
			artifacts: true, traced: true, mode: ModeAnalyze, replicas: 3, jobs: 4},
		{name: "jobs= wins over parallel=N", env: []string{"DEB_BUILD_OPTIONS=parallel=4 loupe=analyze,jobs=2"},
			artifacts: true, traced: true, mode: ModeAnalyze, replicas: 3, jobs: 2},
		{name: "config jobs wins over parallel=N", env: []string{"DEB_BUILD_OPTIONS=parallel=4"}, cfg: cfgJobs,
			artifacts: true, traced: true, mode: ModeAnalyze, replicas: 3, jobs: 3},
		{name: "serial without either", env: []string{"DEB_BUILD_OPTIONS=loupe=analyze"},
			artifacts: true, traced: true, mode: ModeAnalyze, replicas: 3, jobs: 1},
		{name: "strategy from DBO", env: []string{"DEB_BUILD_OPTIONS=loupe=analyze,strategy=exhaustive"},
			artifacts: true, traced: true, mode: ModeAnalyze, replicas: 3, jobs: 1, strategy: verdict.StrategyExhaustive},
		{name: "follow from config", cfg: cfgPtrace, artifacts: true, traced: true, mode: ModeAnalyze,
			replicas: 3, jobs: 1, follow: verdict.FollowPtrace},
		{name: "DBO follow wins", env: []string{"DEB_BUILD_OPTIONS=loupe=analyze,follow=notify"}, cfg: cfgPtrace,
			artifacts: true, traced: true, mode: ModeAnalyze, replicas: 3, jobs: 1, follow: verdict.FollowNotify},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ResolveSettings(tt.env, tt.cfg, nil)
			if want := cmp.Or(tt.gran, verdict.GranSyscalls); s.Granularity != want {
				t.Errorf("granularity = %q, want %q", s.Granularity, want)
			}
			if want := cmp.Or(tt.strategy, verdict.StrategyAdaptive); s.Strategy != want {
				t.Errorf("strategy = %q, want %q", s.Strategy, want)
			}
			if want := cmp.Or(tt.follow, verdict.FollowAuto); s.Follow != want {
				t.Errorf("follow = %q, want %q", s.Follow, want)
			}
			if want := cmp.Or(tt.helpers, HelpersCompact); s.Helpers != want {
				t.Errorf("helpers = %q, want %q", s.Helpers, want)
			}
			if s.Artifacts() != tt.artifacts || s.Traced() != tt.traced || s.Mode != tt.mode || s.Strict != tt.strict ||
				s.Replicas != tt.replicas || s.Jobs != tt.jobs || len(s.Problems) != tt.problems {
				t.Errorf("got artifacts=%v traced=%v mode=%s strict=%v replicas=%d jobs=%d problems=%v",
					s.Artifacts(), s.Traced(), s.Mode, s.Strict, s.Replicas, s.Jobs, s.Problems)
			}
			if !strings.Contains(s.Why, tt.wantWhySubstr) {
				t.Errorf("why = %q, want %q", s.Why, tt.wantWhySubstr)
			}
		})
	}
}

// TestResolveTimeout: timeout=0 in DEB_BUILD_OPTIONS means automatic and,
// like every setting there, wins over debian/loupe.yaml; a bad timeout is a
// problem, never "no limit".
func TestResolveTimeout(t *testing.T) {
	cfg := &Config{File: ConfigFile, Tuning: Tuning{Mode: ModeAnalyze, Timeout: 30 * time.Minute}}
	for _, tt := range []struct {
		dbo      string
		want     time.Duration
		problems int
	}{
		{"loupe=analyze", 30 * time.Minute, 0},
		{"loupe=analyze,timeout=90s", 90 * time.Second, 0},
		{"loupe=analyze,timeout=0", 0, 0},
		{"loupe=analyze,timeout=auto", 0, 0},
		{"loupe=analyze,timeout=10000000000", 30 * time.Minute, 1},
	} {
		s := ResolveSettings([]string{"DEB_BUILD_OPTIONS=" + tt.dbo}, cfg, nil)
		if s.Timeout != tt.want || len(s.Problems) != tt.problems {
			t.Errorf("%s: timeout %v problems %v, want %v and %d problems", tt.dbo, s.Timeout, s.Problems, tt.want, tt.problems)
		}
		if tt.problems > 0 && s.Traced() {
			t.Errorf("%s: traced despite a bad setting", tt.dbo)
		}
	}
}

// FuzzParseLoupeOption: never panics; what it accepts is within limits.
func FuzzParseLoupeOption(f *testing.F) {
	for _, s := range []string{"analyze,strict,replicas=5,jobs=2,timeout=90s", "trace", "analyze,timeout=18446744074", "off,granularity=features"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tu, err := ParseLoupeOption(s)
		if err != nil {
			return
		}
		if tu.Timeout < 0 || tu.Timeout > limits.MaxTimeout || tu.Replicas < 0 || tu.Replicas > limits.MaxReplicas || tu.Jobs < 0 || tu.Jobs > limits.MaxJobs {
			t.Fatalf("%q accepted out of bounds: %+v", s, tu)
		}
	})
}
