package verdict

// Writing a verdict: normalised (sorted, deterministic), with its end
// block, atomically.

import (
	"fmt"
	"sort"
	"strings"

	"salsa.debian.org/loupe-team/loupe/internal/atomicfile"
	"salsa.debian.org/loupe-team/loupe/internal/yamlenc"
)

// Normalize sorts every list so that output is deterministic.
func (f *File) Normalize() {
	sort.Slice(f.Binaries, func(i, j int) bool {
		a, b := f.Binaries[i], f.Binaries[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.BuildPath < b.BuildPath
	})
	for i := range f.Binaries {
		b := &f.Binaries[i]
		sortUses(b.Syscalls, b.Features, b.PseudoFiles)
	}
	sort.SliceStable(f.Helpers, func(i, j int) bool { return f.Helpers[i].Path < f.Helpers[j].Path })
	for i := range f.Helpers {
		h := &f.Helpers[i]
		sortUses(h.Syscalls, h.Features, h.PseudoFiles)
	}
	for i := range f.Conflicts {
		sort.Strings(f.Conflicts[i].Features)
		sort.Strings(f.Conflicts[i].Interventions)
		sort.Strings(f.Conflicts[i].Demoted)
	}
	for _, figs := range f.RunMetadata.Impacts {
		sort.Slice(figs, func(i, j int) bool {
			a, b := figs[i], figs[j]
			if a.Action != b.Action {
				return a.Action < b.Action
			}
			if a.Metric != b.Metric {
				return a.Metric < b.Metric
			}
			return a.Binary < b.Binary
		})
	}
	sort.Slice(f.CombinationImpact, func(i, j int) bool {
		a, b := f.CombinationImpact[i], f.CombinationImpact[j]
		if a.Metric != b.Metric {
			return a.Metric < b.Metric
		}
		return a.Binary < b.Binary
	})
	sort.Slice(f.RunMetadata.CombinationImpacts, func(i, j int) bool {
		a, b := f.RunMetadata.CombinationImpacts[i], f.RunMetadata.CombinationImpacts[j]
		if a.Metric != b.Metric {
			return a.Metric < b.Metric
		}
		return a.Binary < b.Binary
	})
	sort.Slice(f.Conflicts, func(i, j int) bool {
		return strings.Join(f.Conflicts[i].Features, ",") < strings.Join(f.Conflicts[j].Features, ",")
	})
}

// sortUses sorts one executable's syscalls by number, its sub-features and
// pseudo-files by key, and their impacts.
func sortUses(sc []Syscall, features, pseudo []Feature) {
	sort.Slice(sc, func(i, j int) bool { return sc[i].Number < sc[j].Number })
	sort.Slice(features, func(i, j int) bool { return features[i].Key < features[j].Key })
	sort.Slice(pseudo, func(i, j int) bool { return pseudo[i].Key < pseudo[j].Key })
	for k := range sc {
		sortImpact(sc[k].Impact)
	}
	for k := range features {
		sortImpact(features[k].Impact)
	}
	for k := range pseudo {
		sortImpact(pseudo[k].Impact)
	}
}

func sortImpact(im []Impact) {
	sort.Slice(im, func(i, j int) bool {
		a, b := im[i], im[j]
		if a.Action != b.Action {
			return a.Action < b.Action
		}
		return a.Metric < b.Metric
	})
}

// Marshal normalises f, fills in its end block and encodes it as YAML, in
// the current schema (a legacy File is written as a current one).
func Marshal(f *File) ([]byte, error) {
	f.Schema = Schema
	f.Normalize()
	f.End = f.counts()
	b, err := yamlenc.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode verdict: %w", err)
	}
	return b, nil
}

// WriteFile writes f to path atomically (atomicfile.WriteFile): readers see
// the old file or the whole new one. A symlink is followed (the link stays).
// A path that is not a regular file (a device such as /dev/null, a fifo,
// /dev/stdout on a pipe) is written in place: replacing it by rename would
// destroy the device node.
func WriteFile(path string, f *File) error {
	b, err := Marshal(f)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o644)
}
