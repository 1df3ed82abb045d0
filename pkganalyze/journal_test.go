package pkganalyze

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testCfg() Config {
	return Config{Command: []string{"./t"}, Dir: "/src", Binaries: []BinaryRef{{"/src/a", "ab"}}, Replicas: 3}
}

func TestStateDirRecordsAndReopens(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenState(dir, testCfg())
	if err != nil {
		t.Fatal(err)
	}
	spec := RunSpec{Kind: KindExperiment, Interventions: []Intervention{{"read", Stub}}}
	out := Outcome{Pass: false, Exit: "exit 1", ExitCode: 1, Output: "boom\n", RuleHits: map[string]uint64{"read": 3},
		Binaries: []BinaryUse{{Path: "/src/a", Syscalls: []SyscallUse{{"read", 0, 7}}, PeakRSSKB: 10, MaxFDs: 3}}}
	if err := st.Record("k1", spec, out); err != nil {
		t.Fatal(err)
	}
	if err := st.Record("k2", spec, Outcome{Pass: true}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st, err = OpenState(dir, testCfg())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, ok := st.Lookup("k1")
	if !ok || got.Exit != "exit 1" || got.RuleHits["read"] != 3 || got.Binaries[0].Syscalls[0].Calls != 7 || got.Output != "boom\n" {
		t.Errorf("reopened k1 = %+v, %v", got, ok)
	}
	if st.Len() != 2 || st.Dropped {
		t.Errorf("Len %d Dropped %v, want 2 false", st.Len(), st.Dropped)
	}
}

// A loupe killed in the middle of a write leaves a torn last line: it is
// dropped (that run is redone) and later records append cleanly.
func TestStateDirDropsTornLine(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenState(dir, testCfg())
	if err != nil {
		t.Fatal(err)
	}
	st.Record("k1", RunSpec{}, Outcome{Pass: true})
	st.Close()
	j := filepath.Join(dir, "journal.jsonl")
	f, _ := os.OpenFile(j, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"key":"k2","spec":{"kind":"exp`)
	f.Close()

	st, err = OpenState(dir, testCfg())
	if err != nil {
		t.Fatal(err)
	}
	if !st.Dropped || st.Len() != 1 {
		t.Errorf("Dropped %v Len %d, want true 1", st.Dropped, st.Len())
	}
	st.Record("k3", RunSpec{}, Outcome{Pass: true})
	st.Close()
	st, err = OpenState(dir, testCfg())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, ok := st.Lookup("k3"); !ok || st.Len() != 2 || st.Dropped {
		t.Errorf("after re-append: Len %d Dropped %v", st.Len(), st.Dropped)
	}
}

func TestStateDirRejectsCorruption(t *testing.T) {
	dir := t.TempDir()
	st, _ := OpenState(dir, testCfg())
	st.Record("k1", RunSpec{}, Outcome{Pass: true})
	st.Close()
	j := filepath.Join(dir, "journal.jsonl")
	b, _ := os.ReadFile(j)
	os.WriteFile(j, append([]byte("garbage\n"), b...), 0o644)
	_, err := OpenState(dir, testCfg())
	if err == nil || !strings.Contains(err.Error(), "journal.jsonl:1:") {
		t.Errorf("corrupt journal: %v, want an error naming journal.jsonl:1", err)
	}
}

func TestStateDirRejectsOtherAnalysis(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenState(dir, testCfg())
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	for name, mod := range map[string]func(*Config){
		"command":  func(c *Config) { c.Command = []string{"./other"} },
		"binary":   func(c *Config) { c.Binaries[0].SHA256 = "cd" },
		"replicas": func(c *Config) { c.Replicas = 5 },
		"timeout":  func(c *Config) { c.Timeout = 7 },
	} {
		cfg := testCfg()
		cfg.Binaries = append([]BinaryRef(nil), cfg.Binaries...)
		mod(&cfg)
		if _, err := OpenState(dir, cfg); !errors.Is(err, ErrStateMismatch) {
			t.Errorf("%s changed: %v, want ErrStateMismatch", name, err)
		}
	}
	// Jobs is not part of the analysis.
	cfg := testCfg()
	cfg.Jobs = 4
	st, err = OpenState(dir, cfg)
	if err != nil {
		t.Errorf("jobs changed: %v", err)
	} else {
		st.Close()
	}
}

func TestStateDirIsLocked(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenState(dir, testCfg())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := OpenState(dir, testCfg()); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second OpenState: %v, want in use", err)
	}
}

// TestStateDirNeverFollowsPlantedLinks: dh_loupe keeps the state directory
// in the build tree, which the test suite can write. A symlink planted as
// the journal (whose torn last line OpenState truncates), the lock (opened
// with O_CREAT) or the header must not make loupe write through it.
func TestStateDirNeverFollowsPlantedLinks(t *testing.T) {
	const journal = `{"key":"k1","spec":{},"outcome":{"pass":true},"finished":"2026-01-01T00:00:00Z"}` + "\n" + `{"key":"k2","sp`
	for _, tt := range []struct {
		name   string
		victim *string // content; nil: the link dangles, and must stay so
	}{
		{"journal.jsonl", &[]string{journal}[0]},
		{"lock", nil},
		{"analysis.json", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.name == "journal.jsonl" {
				st, err := OpenState(dir, testCfg()) // writes analysis.json
				if err != nil {
					t.Fatal(err)
				}
				st.Close()
				os.Remove(filepath.Join(dir, tt.name))
			}
			victim := filepath.Join(t.TempDir(), "victim")
			if tt.victim != nil {
				os.WriteFile(victim, []byte(*tt.victim), 0o644)
			}
			os.Symlink(victim, filepath.Join(dir, tt.name))
			st, err := OpenState(dir, testCfg())
			if err == nil {
				st.Close()
			}
			b, rerr := os.ReadFile(victim)
			switch {
			case tt.victim == nil && rerr == nil:
				t.Errorf("loupe created the symlink's target (OpenState: %v)", err)
			case tt.victim != nil && string(b) != *tt.victim:
				t.Errorf("the symlink's target was changed: %q (OpenState: %v)", b, err)
			}
		})
	}
}
