// Package located is loupe's one error type for bad input: a problem at a
// place in a file (debian/loupe.yaml, a verdict, a simulation report, an OS
// file, an input of loupe db), said the same way everywhere:
//
//	FILE:LINE: field FIELD: MESSAGE
//
// with the line and the field left out when unknown. Packages give it their
// own name (verdict.FieldError, debhelper.ConfigError, dataset.Problem) as a
// type alias, so that errors.As finds it under either name.
package located
