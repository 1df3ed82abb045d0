// Package integration holds dh_loupe's end-to-end tests: real
// dpkg-buildpackage builds of the source packages in testdata/, with the
// addon taken from the source tree (PERL5LIB) and dh_loupe from $LOUPE_BIN
// (set by the Makefile) or built by the tests; and, with LOUPE_SBUILD=1
// (make test-sbuild), sbuild builds in unshare mode with the dh-loupe .deb.
// The tests assert the verdict files, the .changes entries and the build
// outcome. They take minutes, so go test -short skips them.
package integration
