// Package journal is loupe's append-only record of finished work: an
// analysis's runs (loupe analyze --state, dh_loupe), a rebuild's packages
// and its debusine submissions. One implementation serves them all, so a
// killed loupe is recovered from the same way everywhere.
//
// Contract:
//   - One JSON object per line. Append writes a line with one write(2) and
//     fsyncs it before returning: after a kill -9 the file holds every
//     record Append acknowledged, plus at most one torn last line.
//   - Open cuts a torn last line off (Dropped says so), so the next Append
//     starts on a line of its own; the work it recorded is simply redone.
//     A line that cannot be decoded and is followed by more lines is not a
//     torn write but damage: Open refuses the file with an error naming
//     path:line (a LineError), rather than forget the work silently.
//   - While a Journal is open its file is flock'ed: a second loupe on the
//     same journal is refused at Open ("in use by another loupe"), never
//     left to interleave its lines. Lock takes the same lock on another
//     file (a directory's lock file).
//   - Journals may lie in trees that a workload can write (a build tree):
//     Open and Lock never follow a symlink planted at the path.
//   - Read looks at a journal without changing or locking it.
package journal
