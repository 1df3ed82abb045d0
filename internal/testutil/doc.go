// Package testutil holds what loupe's tests share: golden-file comparison
// (with the -update convention) and the location of the project's copy of
// the upstream loupedb data. Only tests import it.
package testutil
