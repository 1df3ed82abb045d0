// Package exeid identifies executable files the way loupe records and
// matches them: by resolved path, ELF GNU build-id and sha256.
//
// Hashing is the expensive part of tracing exec-heavy test suites, so a Cache
// computes each identity lazily and at most once per file version, keyed by
// (device, inode, size, mtime). A Cache is safe for concurrent use and is
// meant to be shared across the runs of one analysis. The package is pure Go
// (no ptrace), so debhelper uses it to index installed files too.
package exeid
