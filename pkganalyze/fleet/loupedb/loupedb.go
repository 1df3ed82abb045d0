package loupedb

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/located"
	"salsa.debian.org/loupe-team/loupe/internal/sysent"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
)

// Dialects of dyn.csv.
const (
	Exclusive = "exclusive-335"
	Inclusive = "inclusive-336"
)

// Header is the first line of a dyn.csv.
const Header = "# syscall, used, works faked, works stubbed, works both"

// Table is one parsed dyn.csv.
type Table struct {
	Dialect   string
	HasHeader bool
	// Syscalls maps the name of each used syscall to its state.
	Syscalls map[string]dataset.State
	// Notes are oddities that did not prevent the import.
	Notes []string
}

// ParseDynCSV parses one dyn.csv; name is used in errors, which give the
// line and field.
func ParseDynCSV(name string, r io.Reader) (*Table, error) {
	sc := bufio.NewScanner(r)
	var lines []string
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	t := &Table{Syscalls: map[string]dataset.State{}}
	first := 1 // line number of rows[0]
	if len(lines) > 0 && strings.HasPrefix(lines[0], "#") {
		t.HasHeader = true
		if normHeader(lines[0]) != normHeader(Header) {
			return nil, fmt.Errorf("%s:1: unexpected header %q (want %q)", name, lines[0], Header)
		}
		lines = lines[1:]
		first = 2
	} else {
		t.Notes = append(t.Notes, "dyn.csv has no header line")
	}
	switch len(lines) {
	case 335:
		t.Dialect = Exclusive
	case 336:
		t.Dialect = Inclusive
	default:
		return nil, fmt.Errorf("%s: %d rows; a dyn.csv has 335 (syscalls 0..334, exclusive columns) or 336 (0..335, inclusive columns)", name, len(lines))
	}
	for i, l := range lines {
		ln := first + i
		f := strings.Split(l, ",")
		if len(f) != 5 {
			return nil, &located.Error{File: name, Line: ln, Msg: fmt.Sprintf("%d fields, want 5 (syscall, used, works faked, works stubbed, works both)", len(f))}
		}
		nr, err := strconv.Atoi(strings.TrimSpace(f[0]))
		if err != nil || nr != i {
			return nil, &located.Error{File: name, Line: ln, Field: "syscall", Msg: fmt.Sprintf("%q, want %d (rows are positional)", f[0], i)}
		}
		var yn [4]bool
		for k, col := range []string{"used", "works faked", "works stubbed", "works both"} {
			switch strings.TrimSpace(f[k+1]) {
			case "Y":
				yn[k] = true
			case "N":
			default:
				return nil, &located.Error{File: name, Line: ln, Field: col, Msg: fmt.Sprintf("%q, want Y or N", f[k+1])}
			}
		}
		used, faked, stubbed, both := yn[0], yn[1], yn[2], yn[3]
		sys := sysent.AMD64.Name(nr)
		if t.Dialect == Exclusive && btoi(faked)+btoi(stubbed)+btoi(both) > 1 {
			return nil, &located.Error{File: name, Line: ln, Msg: fmt.Sprintf("syscall %s: several of works faked/stubbed/both set in a 335-row (exclusive) file", sys)}
		}
		if t.Dialect == Inclusive && both && !(faked && stubbed) {
			return nil, &located.Error{File: name, Line: ln, Msg: fmt.Sprintf("syscall %s: works both without works faked and works stubbed in a 336-row (inclusive) file", sys)}
		}
		if !used {
			if faked || stubbed || both {
				t.Notes = append(t.Notes, fmt.Sprintf("line %d: %s (%d) is not used but has experiment results (%s); treated as unused", ln, sys, nr, strings.Join(f[2:], ",")))
			}
			continue
		}
		s := dataset.Tested
		if stubbed || both {
			s |= dataset.StubOK
		}
		if faked || both {
			s |= dataset.FakeOK
		}
		t.Syscalls[sys] = s
	}
	return t, nil
}

func normHeader(h string) string { return strings.Join(strings.Fields(h), " ") }

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// WorkloadKind maps a workload directory name to benchmark or suite.
func WorkloadKind(dir string) (string, bool) {
	switch {
	case strings.HasPrefix(dir, "benchmark-"):
		return dataset.KindBenchmark, true
	case dir == "suite" || strings.HasPrefix(dir, "suite-"):
		return dataset.KindSuite, true
	}
	return "", false
}

// Import reads every dyn.csv under root (a loupedb checkout, or its apps/
// directory) and returns one entry per (app, workload). Files it cannot use
// are returned as problems. The error is for a root that is not a loupedb
// at all: unreadable, not a directory, or without a single
// <app>/<workload>/<run>/data/dyn.csv (a typo must not import nothing and
// succeed).
func Import(root string) ([]dataset.Entry, []dataset.Problem, error) {
	const layout = "want a loupedb checkout: DIR/apps/<app>/<workload>/<run>/data/dyn.csv"
	st, err := os.Stat(root)
	if err != nil {
		return nil, nil, fmt.Errorf("import loupedb: %w (%s)", err, layout)
	}
	if !st.IsDir() {
		return nil, nil, fmt.Errorf("import loupedb: %s is not a directory (%s)", root, layout)
	}
	apps := root
	if st, err := os.Stat(filepath.Join(root, "apps")); err == nil && st.IsDir() {
		apps = filepath.Join(root, "apps")
	}
	type run struct {
		path, name string
	}
	groups := map[[2]string][]run{}
	var problems []dataset.Problem
	err = filepath.WalkDir(apps, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			problems = append(problems, dataset.Problem{File: p, Msg: "cannot read: " + err.Error()})
			return nil
		}
		if d.IsDir() || d.Name() != "dyn.csv" {
			return nil
		}
		rel, _ := filepath.Rel(apps, p)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 5 || parts[3] != "data" {
			problems = append(problems, dataset.Problem{File: p, Msg: "not at <app>/<workload>/<run>/data/dyn.csv (skipped)"})
			return nil
		}
		k := [2]string{parts[0], parts[1]}
		groups[k] = append(groups[k], run{p, parts[2]})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("import loupedb: %w", err)
	}
	if len(groups) == 0 {
		return nil, nil, fmt.Errorf("import loupedb: no <app>/<workload>/<run>/data/dyn.csv under %s (%s)", apps, layout)
	}
	keys := make([][2]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	var entries []dataset.Entry
	for _, k := range keys {
		kind, ok := WorkloadKind(k[1])
		if !ok {
			problems = append(problems, dataset.Problem{File: filepath.Join(apps, k[0], k[1]), Msg: "workload directory is neither benchmark-<name>, suite nor suite-<name> (skipped)"})
			continue
		}
		runs := groups[k]
		sort.Slice(runs, func(i, j int) bool { return runs[i].name < runs[j].name })
		e := dataset.Entry{
			Name: k[0], Source: k[0], Architecture: "amd64", Origin: dataset.OriginLoupeDB,
			Workload: dataset.Workload{Kind: kind, Name: k[1]},
			Status:   "ok", Mode: "analyze", Granularity: "syscalls",
		}
		var merged map[string]dataset.State
		for _, r := range runs {
			data, err := os.ReadFile(r.path)
			if err != nil {
				problems = append(problems, dataset.Problem{File: r.path, Msg: "cannot read: " + err.Error()})
				continue
			}
			t, err := ParseDynCSV(r.path, bytes.NewReader(data))
			if err != nil {
				problems = append(problems, dataset.Problem{File: r.path, Msg: err.Error() + " (skipped)"})
				continue
			}
			e.Provenance = append(e.Provenance, dataset.Provenance{File: r.path, SHA256: sha(data), Run: r.name, Dialect: t.Dialect})
			for _, n := range t.Notes {
				e.Notes = append(e.Notes, r.name+": "+n)
			}
			if merged == nil {
				merged = t.Syscalls
				continue
			}
			for s, st := range t.Syscalls {
				if old, ok := merged[s]; ok {
					merged[s] = dataset.Combine(old, st)
				} else {
					merged[s] = st
				}
			}
		}
		if merged == nil {
			continue // every run was a problem
		}
		if len(runs) > 1 {
			e.Notes = append(e.Notes, fmt.Sprintf("%d runs folded conservatively (an intervention works only if it worked in every run that used the syscall)", len(runs)))
		}
		e.Syscalls = dataset.FeaturesFrom(merged, true)
		if len(merged) > 0 && len(e.Syscalls.Both) == len(merged) {
			e.Status = "insensitive"
			e.Reason = "every used syscall works both stubbed and faked: the workload checks nothing (upstream ran it without a test script)"
		}
		entries = append(entries, e)
	}
	return entries, problems, nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
