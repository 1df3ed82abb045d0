// Package version holds loupe's version, recorded in every verdict.
package version
