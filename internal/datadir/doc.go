// Package datadir finds the data loupe ships: the upstream Loupe results
// (loupedb, CC BY 4.0) that the package installs in /usr/share/loupe and
// that a source tree keeps in data/.
//
// The places tried, in order: $LOUPE_DATA_DIR; /usr/share/loupe; beside
// the running executable, ../data (bin/loupe of a source tree built with
// make build) and ../share/loupe (an installation under a prefix).
//
// The bundled OS support files (loupedb/<OS>.syscalls) are what
// loupe plan --os and loupe report --os accept by name.
package datadir
