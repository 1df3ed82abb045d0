// Package verdict defines loupe's verdict file, schema "loupe/verdict/v2":
// what an analysis (or a plain trace) concluded about each binary's use of
// system calls, sub-features and pseudo-files. The schema is documented in
// doc/verdict-schema.md; this package is its single implementation.
//
// Everything outside RunMetadata is a decision or a count and is
// deterministic: the same observations give byte-identical output (lists are
// sorted, maps are never emitted). Measurements that vary from run to run
// (times, RSS, measured impact figures) live only in RunMetadata.
//
// Its users are every part of loupe: the method writes verdicts
// (pkganalyze), dh_loupe writes and names them (debhelper), loupe db reads
// them (pkganalyze/fleet/dataset), and the commands print them; hence its
// place under internal/. The files: verdict.go (the schema's types),
// values.go (its enumerations, with Parse), write.go (Marshal, WriteFile),
// read.go (Parse, Validate, ReadFile).
//
// Readers ignore unknown keys, so later versions can add keys inside v2.
// Every file ends with an End block that proves it whole; files of the
// older schema v1, which have none, are read as Legacy.
package verdict
