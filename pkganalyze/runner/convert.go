package runner

// Between the method and the tracer: a run's interventions and recording
// level as tracer rules and options, and the tracer's result as the
// method's Outcome.

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"salsa.debian.org/loupe-team/loupe/pkganalyze"
	"salsa.debian.org/loupe-team/loupe/tracer"
)

func rules(iv []pkganalyze.Intervention) []tracer.Rule {
	var rs []tracer.Rule
	for _, x := range iv {
		r := tracer.Rule{Feature: x.Feature}
		switch x.Action {
		case pkganalyze.Stub:
			r.Action = tracer.Stub
		case pkganalyze.Fake:
			r.Action = tracer.Fake
		case pkganalyze.Kill:
			r.Action = tracer.Kill
		}
		rs = append(rs, r)
	}
	return rs
}

func record(r pkganalyze.Record) tracer.Record {
	switch r {
	case pkganalyze.RecordSyscalls:
		return tracer.RecordSyscalls
	case pkganalyze.RecordFeatures:
		return tracer.RecordSyscalls | tracer.RecordFeatures
	case pkganalyze.RecordPseudoFiles:
		return tracer.RecordSyscalls | tracer.RecordFeatures | tracer.RecordPseudoFiles
	}
	return tracer.RecordNone
}

func outcome(res *tracer.Result, timedOut bool, wall time.Duration) pkganalyze.Outcome {
	o := pkganalyze.Outcome{TimedOut: timedOut, Wall: wall, Exit: "killed by the timeout", ExitCode: 137}
	if res == nil {
		return o
	}
	if res.Wall > 0 {
		o.Wall = res.Wall
	}
	o.Effective = res.Usage.Effective
	if res.LimitExceeded {
		timedOut = true
		o.TimedOut, o.Exit, o.ExitCode = true, "killed by the timeout", 137
	}
	if !timedOut {
		o.Exit, o.ExitCode = res.Exit.String(), res.Exit.ShellCode()
		o.Pass = res.Exit.Success()
	}
	if len(res.RuleHits) > 0 {
		o.RuleHits = map[string]uint64{}
		for k, v := range res.RuleHits {
			o.RuleHits[k] = v
		}
	}
	o.Binaries = Uses(res)
	return o
}

// Uses is what each in-scope executable of a run did, as the method sees
// it: the one conversion of the tracer's records, for the runs of an
// analysis and for dh_loupe's trace mode.
func Uses(res *tracer.Result) []pkganalyze.BinaryUse {
	var out []pkganalyze.BinaryUse
	for _, b := range res.Binaries {
		u := pkganalyze.BinaryUse{Path: b.Path, Interpreter: b.Interpreter, BuildID: b.BuildID, SHA256: b.SHA256,
			Processes: len(b.Processes), PeakRSSKB: b.PeakRSSKB, MaxFDs: b.MaxFDs}
		for _, s := range b.Syscalls {
			u.Syscalls = append(u.Syscalls, pkganalyze.SyscallUse{Name: s.Name, Number: s.Number, Calls: s.Calls})
		}
		for _, f := range b.Features {
			u.Features = append(u.Features, pkganalyze.FeatureUse{Key: f.Key, Calls: f.Calls})
		}
		for _, f := range b.PseudoFiles {
			u.PseudoFiles = append(u.PseudoFiles, pkganalyze.FeatureUse{Key: f.Key, Calls: f.Calls})
		}
		out = append(out, u)
	}
	return out
}

// ReadMetric returns the benchmark metric in a workload's output: the
// first capture group of re on the last line re matches, parsed as a
// number (thousands separators "," and "_" allowed); nil when no line
// matches with a number. Lines are read one at a time, so the output may be
// of any size; a line longer than 64 KiB is skipped.
func ReadMetric(r io.Reader, re *regexp.Regexp) *float64 {
	var found *float64
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			// A huge line: skip it.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			line = nil
		}
		if m := re.FindSubmatch(line); len(m) == 2 {
			v := strings.NewReplacer(",", "", "_", "").Replace(string(m[1]))
			if f, perr := strconv.ParseFloat(v, 64); perr == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				found = &f
			}
		}
		if err != nil {
			return found
		}
	}
}

// tail returns the last n bytes of f, from a line start when possible, as
// valid UTF-8.
func tail(f *os.File, n int) string {
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-int64(n), 0)
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return ""
	}
	if off > 0 {
		if i := bytes.IndexByte(b, '\n'); i >= 0 && i < len(b)-1 {
			b = b[i+1:]
		}
		b = append([]byte("[...]\n"), b...)
	}
	return strings.ToValidUTF8(string(b), string(utf8.RuneError))
}
