package pkganalyze

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"salsa.debian.org/loupe-team/loupe/internal/atomicfile"
	"salsa.debian.org/loupe-team/loupe/internal/journal"
)

// Journal remembers finished runs by key, so that an interrupted analysis
// resumes without redoing them. Only runs that finished (the workload
// exited or timed out) are recorded; an interrupted run is not.
type Journal interface {
	Lookup(key string) (Outcome, bool)
	Record(key string, spec RunSpec, o Outcome) error
}

// MemJournal is a Journal that lives in memory (no --state).
type MemJournal struct {
	mu sync.Mutex
	m  map[string]Outcome
}

// NewMemJournal returns an empty in-memory journal.
func NewMemJournal() *MemJournal { return &MemJournal{m: map[string]Outcome{}} }

func (j *MemJournal) Lookup(key string) (Outcome, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	o, ok := j.m[key]
	return o, ok
}

func (j *MemJournal) Record(key string, _ RunSpec, o Outcome) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.m[key] = o
	return nil
}

// engineVersion changes when the method changes in a way that makes old
// journals wrong; it is part of every fingerprint.
// Version 2: load-corrected run durations and the 3x timeout; strategies.
const engineVersion = 2

// Fingerprint identifies an analysis: the same fingerprint means the same
// workload, binaries and options, so recorded runs can be reused. The
// environment is deliberately not part of it (it differs between shells);
// Jobs is not either, since it does not change what is run.
func Fingerprint(cfg Config) string {
	type fp struct {
		Engine      int
		Command     []string
		Dir         string
		Binaries    []BinaryRef
		Replicas    int
		Timeout     time.Duration
		Granularity string
		Strategy    string
		// Metric is the regex: the runs' Outcome.Metric depends on it.
		// Absent without one, so that earlier fingerprints still hold.
		Metric string `json:",omitempty"`
	}
	metric := ""
	if cfg.Metric != nil {
		metric = cfg.Metric.Regex
	}
	b, _ := json.Marshal(fp{engineVersion, cfg.Command, cfg.Dir, cfg.Binaries, cfg.Replicas, cfg.Timeout, string(cfg.granularity()),
		string(cfg.strategy()), metric})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// runKey identifies one run of an analysis.
func runKey(fingerprint string, spec RunSpec) string {
	spec.Interventions = sortInterventions(spec.Interventions)
	b, _ := json.Marshal(struct {
		FP   string
		Spec RunSpec
	}{fingerprint, spec})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// StateDir is a Journal kept in a directory (--state):
//
//	DIR/analysis.json   what the analysis is (fingerprint, command, binaries)
//	DIR/journal.jsonl   one line per finished run: key, spec, outcome
//	DIR/lock            flock'ed while a loupe uses the directory
//
// The journal is an internal/journal: each line is appended with one write
// and fsync'ed before Record returns, so after a kill -9 it holds every run
// that Record acknowledged, plus at most one torn last line, which
// OpenState drops.
type StateDir struct {
	dir  string
	lock *os.File
	mu   sync.Mutex
	j    *journal.Journal
	m    map[string]Outcome
	// Dropped is set when Open removed a torn last line.
	Dropped bool
}

type stateHeader struct {
	Fingerprint string        `json:"fingerprint"`
	Command     []string      `json:"command"`
	Dir         string        `json:"dir"`
	Binaries    []BinaryRef   `json:"binaries"`
	Replicas    int           `json:"replicas"`
	Timeout     time.Duration `json:"timeout,omitempty"`
	Granularity string        `json:"granularity"`
	Strategy    string        `json:"strategy,omitempty"`
	Created     time.Time     `json:"created"`
}

type journalLine struct {
	Key      string    `json:"key"`
	Spec     RunSpec   `json:"spec"`
	Outcome  Outcome   `json:"outcome"`
	Finished time.Time `json:"finished"`
}

// ErrStateMismatch means a state directory belongs to another analysis.
var ErrStateMismatch = errors.New("state directory belongs to a different analysis")

// OpenState opens (creating it if needed) the state directory of the
// analysis cfg describes. It fails if another loupe holds the directory or
// if it was made for a different command, binaries or options.
func OpenState(dir string, cfg Config) (*StateDir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("state %s: %w", dir, err)
	}
	// The state directory may lie in a build tree that the workload can
	// write: never follow a symlink planted in it.
	lock, err := journal.Lock(filepath.Join(dir, "lock"))
	if errors.Is(err, journal.ErrInUse) {
		return nil, fmt.Errorf("state %s: %w; wait for it or use another --state", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", dir, err)
	}
	s := &StateDir{dir: dir, lock: lock, m: map[string]Outcome{}}
	if err := s.open(cfg); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *StateDir) open(cfg Config) error {
	fp := Fingerprint(cfg)
	hpath := filepath.Join(s.dir, "analysis.json")
	b, err := os.ReadFile(hpath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		h := stateHeader{Fingerprint: fp, Command: cfg.Command, Dir: cfg.Dir, Binaries: cfg.Binaries,
			Replicas: cfg.Replicas, Timeout: cfg.Timeout, Granularity: string(cfg.granularity()),
			Strategy: string(cfg.strategy()), Created: time.Now().UTC()}
		b, _ := json.MarshalIndent(h, "", "  ")
		if err := atomicfile.Replace(hpath, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("state: %w", err)
		}
	case err != nil:
		return fmt.Errorf("state: %w", err)
	default:
		var h stateHeader
		if err := json.Unmarshal(b, &h); err != nil {
			return fmt.Errorf("state %s: %w (remove the directory to start over)", hpath, err)
		}
		if h.Fingerprint != fp {
			strategy := h.Strategy
			if strategy == "" {
				strategy = "exhaustive, by an older loupe"
			}
			return fmt.Errorf("state %s: %w (it was made for %q with binaries %v, replicas %d, strategy %s); use another --state, or remove it to start over",
				s.dir, ErrStateMismatch, h.Command, h.Binaries, h.Replicas, strategy)
		}
	}
	j, err := journal.Open(filepath.Join(s.dir, "journal.jsonl"), func(line []byte) error {
		var jl journalLine
		if err := json.Unmarshal(line, &jl); err != nil {
			return err
		}
		if jl.Key == "" {
			return errors.New("no key")
		}
		s.m[jl.Key] = jl.Outcome
		return nil
	})
	var le *journal.LineError
	if errors.As(err, &le) {
		return fmt.Errorf("%w; remove the state directory to start over", err)
	}
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	s.j, s.Dropped = j, j.Dropped
	return nil
}

// Len is the number of runs recorded.
func (s *StateDir) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *StateDir) Lookup(key string) (Outcome, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.m[key]
	return o, ok
}

// Record appends a finished run and syncs it to disk.
func (s *StateDir) Record(key string, spec RunSpec, o Outcome) error {
	if err := s.j.Append(journalLine{Key: key, Spec: spec, Outcome: o, Finished: time.Now().UTC()}); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = o
	return nil
}

// Close releases the directory.
func (s *StateDir) Close() error {
	err := s.j.Close()
	if s.lock != nil {
		s.lock.Close()
	}
	return err
}
