package debhelper

import (
	"strings"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// Defaults of the analyze mode. Jobs default to DEB_BUILD_OPTIONS
// parallel=N, as debhelper's own, and to 1 without it.
const (
	DefaultReplicas = 3
	DefaultStrategy = verdict.StrategyAdaptive
)

// Settings is what loupe does in this build, from DEB_BUILD_OPTIONS,
// DEB_BUILD_PROFILES, DH_EXTRA_ADDONS and debian/loupe.yaml.
//
// The default must never break an archive upload: unless loupe was asked
// for explicitly (a loupe= build option, a mode in debian/loupe.yaml, or
// loupe in DH_EXTRA_ADDONS, as a bulk rebuild sets it), nothing is traced
// and no verdict file is produced, even though the addon is loaded.
type Settings struct {
	// Requested is set when loupe was asked for explicitly; Why says how.
	Requested bool
	Why       string
	Mode      Mode
	Strict    bool
	Replicas  int
	Jobs      int
	Timeout   time.Duration // 0: derived from the baseline
	// Granularity of the analysis (default syscalls).
	Granularity verdict.Granularity
	// Helpers: how much of the test helpers verdicts list (default compact).
	Helpers HelperDetail
	// Strategy of the analysis (default adaptive).
	Strategy verdict.Strategy
	// Follow: how the analysis's runs follow the tree (default auto).
	Follow   verdict.Follow
	NoCheck  bool
	Parallel int
	Config   *Config // nil without debian/loupe.yaml
	// Problems are errors in the settings themselves (a bad loupe= value,
	// an invalid debian/loupe.yaml). They go to stderr, and into the
	// verdicts when verdicts are produced.
	Problems []error
}

// Artifacts reports whether verdict files are produced.
func (s *Settings) Artifacts() bool { return s.Requested && s.Mode != ModeOff }

// Traced reports whether the test step runs under loupe.
func (s *Settings) Traced() bool { return s.Artifacts() && !s.NoCheck && len(s.Problems) == 0 }

// ResolveSettings combines the environment with a package's configuration
// (cfg may be nil; cfgErr is the error loading it, if any). DEB_BUILD_OPTIONS
// wins over debian/loupe.yaml, setting by setting.
func ResolveSettings(env []string, cfg *Config, cfgErr error) *Settings {
	s := &Settings{Config: cfg, NoCheck: NoCheck(env)}
	dbo := ParseBuildOptions(Getenv(env, "DEB_BUILD_OPTIONS"))
	s.Parallel = dbo.Parallel()

	var fromDBO Tuning
	if v, ok := dbo.Get("loupe"); ok {
		s.Requested, s.Why = true, "DEB_BUILD_OPTIONS loupe="+v
		t, err := ParseLoupeOption(v)
		if err != nil {
			s.Problems = append(s.Problems, err)
		}
		fromDBO = t
	}
	if cfgErr != nil {
		s.Problems = append(s.Problems, cfgErr)
	}
	var fromCfg Tuning
	if cfg != nil {
		fromCfg = cfg.Tuning
		if !s.Requested && cfg.Mode != "" {
			s.Requested, s.Why = true, cfg.File+" mode: "+string(cfg.Mode)
		}
	}
	if !s.Requested && extraAddon(Getenv(env, "DH_EXTRA_ADDONS")) {
		s.Requested, s.Why = true, "DH_EXTRA_ADDONS"
	}

	s.Mode = first(fromDBO.Mode, fromCfg.Mode, ModeTrace)
	switch {
	case fromDBO.Strict != nil:
		s.Strict = *fromDBO.Strict
	case fromCfg.Strict != nil:
		s.Strict = *fromCfg.Strict
	}
	s.Replicas = first(fromDBO.Replicas, fromCfg.Replicas, DefaultReplicas)
	// jobs= (or jobs: in debian/loupe.yaml) wins; else the build's own
	// parallel=N, which dpkg-buildpackage -J/-j sets; else serial.
	s.Jobs = first(fromDBO.Jobs, fromCfg.Jobs, s.Parallel)
	s.Strategy = first(fromDBO.Strategy, fromCfg.Strategy, DefaultStrategy)
	s.Follow = first(fromDBO.Follow, fromCfg.Follow, verdict.FollowAuto)
	// An explicit timeout=0 (automatic) in DEB_BUILD_OPTIONS wins over the
	// file's timeout, like any other setting.
	if fromDBO.Timeout > 0 || fromDBO.TimeoutAuto {
		s.Timeout = fromDBO.Timeout
	} else {
		s.Timeout = fromCfg.Timeout
	}
	s.Granularity = first(fromDBO.Granularity, fromCfg.Granularity, verdict.GranSyscalls)
	s.Helpers = first(fromDBO.Helpers, fromCfg.Helpers, HelpersCompact)
	return s
}

func first[T comparable](vs ...T) T {
	var zero T
	for _, v := range vs {
		if v != zero {
			return v
		}
	}
	return zero
}

// extraAddon reports whether a DH_EXTRA_ADDONS value (comma-separated, as
// dh reads it) names loupe.
func extraAddon(v string) bool {
	for _, a := range strings.Split(v, ",") {
		a = strings.TrimPrefix(strings.TrimSpace(a), "+")
		if strings.ReplaceAll(a, "_", "-") == "loupe" {
			return true
		}
	}
	return false
}
