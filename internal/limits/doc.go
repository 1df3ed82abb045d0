// Package limits holds the bounds of loupe's durations and counts, and their
// parsing, so that a value is accepted or refused the same way wherever it is
// given: on loupe's command line, in DEB_BUILD_OPTIONS loupe=..., in
// debian/loupe.yaml, or to the analysis engine.
//
// A negative value, or one that overflows, never means "unlimited" or
// "default": it is an error that states the accepted range. A timeout of 0
// keeps its documented meaning, automatic (derived from the baseline). The
// maxima are far above any real use and exist so that a typo (an extra
// zero, seconds given as nanoseconds) is caught before hours of work.
package limits
