// Package suggest finds, for a name loupe does not know (a mistyped syscall,
// ioctl request, application, command), the known name the user most likely
// meant: the "did you mean" of every error and warning about a name. One
// distance and one threshold serve all of them, so that a typo gets the same
// answer wherever it is written.
//
// It is pure and allocation-light; callers pass the known names in the order
// that should win ties (syscall number, alphabetical), which keeps every
// message deterministic.
package suggest
