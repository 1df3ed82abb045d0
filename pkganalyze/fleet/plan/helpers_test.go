package plan

import (
	"flag"
	"path/filepath"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", name), got, *update)
}
