package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/simulate"
)

// Simulation is a loupe simulate report folded into a dataset: an
// application's workload run as an OS (or the OS after a plan step) would
// answer it, and how that went. Several simulations of one application are
// all kept, as a history of what was validated.
type Simulation struct {
	App string `json:"app"`
	// OS is the OS file's name (Kerla for Kerla.syscalls) and OSSHA256 its
	// content's sha256.
	OS       string `json:"os"`
	OSSHA256 string `json:"os_sha256,omitempty"`
	// PlanStep is the simulated step of the plan computed for the OS from
	// PlanDataset (sha256); Claimed says whether the plan claimed App at
	// that step. All three are absent for a plain OS file.
	PlanStep    *int   `json:"plan_step,omitempty"`
	PlanDataset string `json:"plan_dataset_sha256,omitempty"`
	Claimed     *bool  `json:"claimed,omitempty"`
	Passed      bool   `json:"passed"`
	Exit        string `json:"exit"`
	Command     string `json:"command"`
	// Lacking lists the syscalls, sub-features and pseudo-files the OS
	// lacks that the workload called, "key=state" (absent, stubbed, faked).
	Lacking    []string   `json:"lacking,omitempty"`
	Provenance Provenance `json:"provenance"`
}

// FromSimulation folds a report read from a file whose content has the
// given sha256.
func FromSimulation(r *simulate.Report, prov Provenance) Simulation {
	s := Simulation{App: r.App, OS: strings.TrimSuffix(filepath.Base(r.OS.File), filepath.Ext(r.OS.File)),
		OSSHA256: r.OS.SHA256, Passed: r.Passed, Command: strings.Join(r.Command, " "), Provenance: prov}
	s.Exit = r.Exit.String()
	if p := r.Plan; p != nil {
		step := p.Step
		s.PlanStep, s.PlanDataset, s.Claimed = &step, p.DatasetSHA256, p.AppClaimed
	}
	for _, ls := range [][]simulate.Lack{r.Lacking, r.Features, r.PseudoFiles} {
		for _, l := range ls {
			s.Lacking = append(s.Lacking, l.Name+"="+l.State)
		}
	}
	return s
}

// readSimulation reads one report; a malformed one, or one that does not
// name its application, is a Problem.
func readSimulation(path string) (*Simulation, *Problem) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &Problem{File: path, Msg: "cannot read: " + err.Error()}
	}
	r, err := simulate.Parse(path, b)
	var fe *simulate.FieldError
	switch {
	case errors.As(err, &fe):
		return nil, &Problem{File: path, Line: fe.Line, Field: fe.Field, Msg: fe.Msg + " (skipped)"}
	case errors.Is(err, simulate.ErrNotReport):
		return nil, &Problem{File: path, Field: "schema", Msg: simulate.ErrNotReport.Error() + " (skipped)"}
	case err != nil:
		return nil, &Problem{File: path, Msg: err.Error() + " (skipped)"}
	}
	if r.App == "" {
		return nil, &Problem{File: path, Field: "app", Msg: "missing; cannot tell which application this simulation is about (run loupe simulate with --app) (skipped)"}
	}
	sum := sha256.Sum256(b)
	s := FromSimulation(r, Provenance{File: path, SHA256: hex.EncodeToString(sum[:])})
	return &s, nil
}

// mergeSimulations drops copies of one report (same sha256) and sorts.
func mergeSimulations(ss []Simulation) []Simulation {
	seen := map[string]bool{}
	var out []Simulation
	for _, s := range ss {
		k := s.Provenance.SHA256
		if k != "" && seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, s)
	}
	sortSimulations(out)
	return out
}

func sortSimulations(ss []Simulation) {
	step := func(s Simulation) int {
		if s.PlanStep == nil {
			return -1
		}
		return *s.PlanStep
	}
	sort.SliceStable(ss, func(i, j int) bool {
		a, b := ss[i], ss[j]
		switch {
		case a.App != b.App:
			return a.App < b.App
		case a.OS != b.OS:
			return a.OS < b.OS
		case step(a) != step(b):
			return step(a) < step(b)
		}
		return a.Provenance.SHA256 < b.Provenance.SHA256
	})
}

// SimulationsOf returns the simulations of app in ds, in order.
func (d *Dataset) SimulationsOf(app string) []Simulation {
	var out []Simulation
	for _, s := range d.Simulations {
		if s.App == app {
			out = append(out, s)
		}
	}
	return out
}
