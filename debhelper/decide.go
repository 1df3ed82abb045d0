package debhelper

import (
	"fmt"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// Where is a verdict decided? For dh_loupe, here: Decide and Attributed
// are the whole decision tree of a package's verdict status, in the order
// dh_loupe_verdict applies it; the experiments of analyze mode decide the
// rest (package pkganalyze). Both are pure.

// VerdictInput is what dh_loupe_verdict knows of one package before its
// executables are attributed.
type VerdictInput struct {
	Package  string
	Problems []error // in the settings (DEB_BUILD_OPTIONS, debian/loupe.yaml)
	NoCheck  bool
	Run      *Run  // the newest recorded test step that covers the package; nil: none
	RunsErr  error // the recorded test steps could not be read
	IndexErr error // the installed packages could not be indexed
}

// Decision is the status of a verdict, when decided.
type Decision struct {
	// Status and Reason are the verdict's; Status "" means go on: to
	// attribution after Decide, to the experiments after Attributed.
	Status verdict.Status
	Reason string
	// Ran: the test step ran, and the verdict counts it as its one
	// baseline run (trace mode, and what analyze mode starts from).
	Ran bool
}

// Decide is the decision before attribution: settings problems, nocheck, a
// missing or broken record of the test step, and a failed test step.
func Decide(in VerdictInput) Decision {
	run := in.Run
	switch {
	case len(in.Problems) > 0:
		return Decision{Status: verdict.StatusError, Reason: JoinProblems(in.Problems)}
	case in.NoCheck || run != nil && run.Skipped:
		return Decision{Status: verdict.StatusSkipped, Reason: "nocheck: the test step was not run"}
	case in.RunsErr != nil:
		return Decision{Status: verdict.StatusError, Reason: in.RunsErr.Error()}
	case run == nil:
		return Decision{Status: verdict.StatusError, Reason: fmt.Sprintf("no test step was recorded for %s: dh_loupe did not run in the build target "+
			"(with dh, the loupe addon runs it in dh_auto_test's place; without dh, call dh_loupe -- COMMAND in the test target)", in.Package)}
	case run.Error != "" && len(run.Binaries) == 0:
		return Decision{Status: verdict.StatusError, Reason: run.Error}
	case in.IndexErr != nil:
		return Decision{Status: verdict.StatusError, Reason: in.IndexErr.Error()}
	case !run.Exit.Success():
		return Decision{Status: verdict.StatusBaselineFailed, Reason: "the test step failed: " + run.Exit.String(), Ran: true}
	}
	return Decision{Ran: true}
}

// Attributed is the decision after attribution: notExercised is Explain's
// reason ("" when the package's binaries ran). Status "" means analyze.
func Attributed(run *Run, notExercised string, mode Mode) Decision {
	switch {
	case run.Error != "":
		return Decision{Status: verdict.StatusError, Reason: run.Error, Ran: true}
	case notExercised != "":
		return Decision{Status: verdict.StatusNotExercised, Reason: notExercised, Ran: true}
	case mode != ModeAnalyze:
		return Decision{Status: verdict.StatusOK, Ran: true}
	}
	return Decision{Ran: true}
}

// JoinProblems says several problems on one line.
func JoinProblems(errs []error) string {
	s := make([]string, len(errs))
	for i, e := range errs {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}
