// Package dataset is loupe's results dataset, schema "loupe/dataset/v1": the
// many verdicts of a rebuild (and imported upstream loupedb results) folded
// into one file that plans and reports read.
//
// Contract:
//   - Collect reads verdict files from .changes files, sbuild build
//     directories, plain trees of *.loupe.yaml, and other dataset files
//     (shards), and never loses data silently: a malformed file becomes a
//     Problem naming the file, line and field, and everything else is kept.
//   - One Entry per key (origin, name, architecture, and for loupedb the
//     workload). Duplicates are resolved by Resolve: the newest Debian version
//     wins; at equal versions analyze beats trace, then status ok beats the
//     others, then the lowest sha256 of the file, then the lowest path. The
//     losers are kept in Entry.Superseded with their provenance.
//   - Output is deterministic: entries are sorted by key, every list is
//     sorted, and the file holds no timestamps.
//
// An Entry describes one application (a binary package, or a loupedb app
// with one workload). Its binaries are folded into per-feature States with
// the conservative rule used everywhere in loupe: a feature is used if any
// binary used it, and stubbing (faking) it works only if it worked for every
// binary that used it. Test helpers (binaries the package does not ship) are
// left out, since their syscalls are not the package's.
//
// The schema is documented in doc/dataset-schema.md.
package dataset
