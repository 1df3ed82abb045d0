//go:build !amd64

package subfeature

// nativeValues is nil where no zvalues_<arch>.go has been generated: For
// then returns nil. To add an architecture, run mkvalues.go for it (see
// doc.go) and add it to the build constraint above.
var nativeValues *archValues
