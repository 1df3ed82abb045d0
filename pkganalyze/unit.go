package pkganalyze

import "strings"

// UnitKind classifies an experiment unit by the form of its key, the key
// forms of the verdict schema.
type UnitKind int

const (
	// UnitSyscall is a whole syscall: "mkdir", "syscall_463".
	UnitSyscall UnitKind = iota
	// UnitFeature is a sub-feature "<syscall>:<value>": "ioctl:TCGETS",
	// "fcntl:F_SETFD", "mmap:anon+private".
	UnitFeature
	// UnitPseudoFile is a normalised absolute path: "/proc/self/status".
	UnitPseudoFile
)

// KindOf returns the kind of a unit key.
func KindOf(key string) UnitKind {
	switch {
	case strings.HasPrefix(key, "/"):
		return UnitPseudoFile
	case strings.Contains(key, ":"):
		return UnitFeature
	}
	return UnitSyscall
}

// ParentSyscall returns the syscall a sub-feature belongs to ("ioctl" for
// "ioctl:TCGETS"), and "" for syscalls and pseudo-files.
func ParentSyscall(key string) string {
	if KindOf(key) != UnitFeature {
		return ""
	}
	p, _, _ := strings.Cut(key, ":")
	return p
}
