// Package atomicfile writes files so that readers see either the old content
// or the complete new content, never a torn file: the data goes to a
// temporary file in the target's directory, is synced, chmod'ed and renamed
// over the target, and the temporary file is removed on any error.
//
// WriteFile is for paths the user named: a target that is not a regular
// file (/dev/null, /dev/stdout, a fifo) is written in place, since renaming
// over it would replace a device node with a regular file, and a symlink is
// followed, so the link survives and its target is replaced.
//
// Replace is for paths loupe names itself in a directory that others can
// write (a build tree, the directory above it): it never follows a symlink
// nor writes into a device or fifo planted there; whatever is at the path
// is replaced by a regular file.
//
// ReplaceFrom is Replace for streamed content (a download).
//
// Every file loupe keeps goes through this package: the commands' outputs
// (loupecli's writeOutput), verdicts (verdict.WriteFile, and dh_loupe's
// debhelper.WriteArtifact), trace files, datasets, dh_loupe's recorded
// steps, the analysis's state header, sbuild's configuration, downloads.
// Append-only records use internal/journal. Only scratch files (a run's
// captured output, snapshots, the tracer's stand-ins) and streamed build
// logs are written directly, in directories loupe made for them.
//
// CheckWritable tells before the work whether the output can be written;
// Keep saves an output that could not be written where it was asked for.
package atomicfile
