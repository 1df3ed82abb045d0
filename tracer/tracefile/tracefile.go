package tracefile

import (
	"fmt"
	"os"
	"sort"

	"gopkg.in/yaml.v3"

	"salsa.debian.org/loupe-team/loupe/internal/atomicfile"
	"salsa.debian.org/loupe-team/loupe/internal/exitstatus"
	"salsa.debian.org/loupe-team/loupe/internal/yamlenc"
	"salsa.debian.org/loupe-team/loupe/tracer"
)

// Schema is the schema key of trace files.
const Schema = "loupe/trace/v1"

// File is a trace file.
type File struct {
	Schema    string   `yaml:"schema"`
	Command   []string `yaml:"command"`
	Dir       string   `yaml:"dir,omitempty"`
	Exit      Exit     `yaml:"exit"`
	Mechanism string   `yaml:"mechanism,omitempty"`
	// Granularity is what was recorded (loupe trace --granularity):
	// syscalls, features or pseudo-files.
	Granularity string `yaml:"granularity,omitempty"`
	// Counts is "seen" when the run recorded with --counts seen: calls and
	// errors are then lower bounds (the sets of what was used are exact).
	// Omitted for exact counts.
	Counts string `yaml:"counts,omitempty"`
	// Containment says how a contained run (--kill-leftovers) was kept
	// whole: pid-namespace or subreaper.
	Containment string `yaml:"containment,omitempty"`
	// Follow is how the process tree was followed (notify or ptrace), and
	// FollowNote why auto chose ptrace.
	Follow     string     `yaml:"follow,omitempty"`
	FollowNote string     `yaml:"follow_note,omitempty"`
	Processes  int        `yaml:"processes"`
	Execs      int        `yaml:"execs"`
	Stops      uint64     `yaml:"ptrace_stops"`
	WallSecs   float64    `yaml:"wall_seconds"`
	Rules      []string   `yaml:"rules,omitempty"`
	RuleHits   []Hit      `yaml:"rule_hits,omitempty"`
	Binaries   []Binary   `yaml:"binaries"`
	Leftovers  []Leftover `yaml:"leftovers,omitempty"`
}

// Exit is an exit status: the shell's code, and the signal's name.
type Exit = exitstatus.Record

// Hit counts how often a rule fired.
type Hit struct {
	Feature string `yaml:"feature"`
	Count   uint64 `yaml:"count"`
}

// Binary is one in-scope executable.
type Binary struct {
	Path        string    `yaml:"path"`
	Interpreter string    `yaml:"interpreter,omitempty"`
	BuildID     string    `yaml:"build_id,omitempty"`
	SHA256      string    `yaml:"sha256,omitempty"`
	PeakRSSKB   uint64    `yaml:"peak_rss_kb"`
	MaxFDs      int       `yaml:"max_fds"`
	Syscalls    []Syscall `yaml:"syscalls"`
	Features    []Count   `yaml:"features,omitempty"`
	PseudoFiles []Count   `yaml:"pseudo_files,omitempty"`
	Processes   []Process `yaml:"processes"`
}

// Syscall is the use of one syscall.
type Syscall struct {
	Name   string `yaml:"name"`
	Number int    `yaml:"number"`
	Calls  uint64 `yaml:"calls"`
	Errors uint64 `yaml:"errors,omitempty"`
}

// Count is the use of a sub-feature or pseudo-file.
type Count struct {
	Key   string `yaml:"key"`
	Calls uint64 `yaml:"calls"`
}

// Process is one process image.
type Process struct {
	PID       int      `yaml:"pid"`
	PPID      int      `yaml:"ppid"`
	Argv      []string `yaml:"argv,flow"`
	Exit      *Exit    `yaml:"exit,omitempty"`
	Replaced  bool     `yaml:"replaced_by_exec,omitempty"`
	PeakRSSKB uint64   `yaml:"peak_rss_kb"`
	MaxFDs    int      `yaml:"max_fds"`
}

// Leftover is a process that outlived the command.
type Leftover struct {
	PID      int    `yaml:"pid"`
	Exe      string `yaml:"exe"`
	Detached bool   `yaml:"detached"`
}

// FromResult converts a tracer result.
func FromResult(cmd []string, dir string, rules []tracer.Rule, r *tracer.Result) *File {
	f := &File{Schema: Schema, Command: cmd, Dir: dir, Exit: r.Exit.Record(), Mechanism: r.Mechanism,
		Containment: r.Containment, Follow: string(r.Follow), FollowNote: r.FollowNote, Processes: r.Processes, Execs: r.Execs, Stops: r.Stops, WallSecs: r.Wall.Seconds()}
	if r.Counts == tracer.CountsSeen {
		f.Counts = r.Counts.String()
	}
	for _, ru := range rules {
		f.Rules = append(f.Rules, ru.String())
	}
	for k, v := range r.RuleHits {
		f.RuleHits = append(f.RuleHits, Hit{Feature: k, Count: v})
	}
	sort.Slice(f.RuleHits, func(i, j int) bool { return f.RuleHits[i].Feature < f.RuleHits[j].Feature })
	for _, b := range r.Binaries {
		fb := Binary{Path: b.Path, Interpreter: b.Interpreter, BuildID: b.BuildID, SHA256: b.SHA256,
			PeakRSSKB: b.PeakRSSKB, MaxFDs: b.MaxFDs, Syscalls: []Syscall{}}
		for _, s := range b.Syscalls {
			fb.Syscalls = append(fb.Syscalls, Syscall{Name: s.Name, Number: s.Number, Calls: s.Calls, Errors: s.Errors})
		}
		for _, c := range b.Features {
			fb.Features = append(fb.Features, Count{Key: c.Key, Calls: c.Calls})
		}
		for _, c := range b.PseudoFiles {
			fb.PseudoFiles = append(fb.PseudoFiles, Count{Key: c.Key, Calls: c.Calls})
		}
		for _, p := range b.Processes {
			fp := Process{PID: p.PID, PPID: p.PPID, Argv: p.Argv, Replaced: p.Replaced, PeakRSSKB: p.PeakRSSKB, MaxFDs: p.MaxFDs}
			if !p.Replaced {
				e := p.Exit.Record()
				fp.Exit = &e
			}
			fb.Processes = append(fb.Processes, fp)
		}
		f.Binaries = append(f.Binaries, fb)
	}
	for _, l := range r.Leftovers {
		f.Leftovers = append(f.Leftovers, Leftover{PID: l.PID, Exe: l.Exe, Detached: l.Detached})
	}
	return f
}

// Marshal encodes f as YAML.
func Marshal(f *File) ([]byte, error) {
	return yamlenc.Marshal(f)
}

// WriteFile writes f atomically.
func WriteFile(path string, f *File) error {
	b, err := Marshal(f)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o644)
}

// ReadFile reads a trace file.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Schema != Schema {
		return nil, fmt.Errorf("%s: field schema: %q is not %s", path, f.Schema, Schema)
	}
	return &f, nil
}
