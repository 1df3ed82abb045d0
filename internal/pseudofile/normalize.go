package pseudofile

import (
	"fmt"
	"path"
	"strings"
)

// IsPseudo reports whether a path is /proc, /sys or /dev or lies under one
// of them (lexically, after cleaning).
func IsPseudo(p string) bool {
	p = path.Clean(p) // no allocation when p is already clean
	for _, root := range [...]string{"/proc", "/sys", "/dev"} {
		if Under(root, p) {
			return true
		}
	}
	return false
}

// Under reports whether p is key or lies beneath it. A rule on a key
// applies to both (see doc/subfeatures.md: the descendants of a stubbed or
// faked file do not exist).
func Under(key, p string) bool {
	return p == key || (len(p) > len(key) && strings.HasPrefix(p, key) && p[len(key)] == '/')
}

// Join resolves a path named relative to dir (the path of a dirfd or of the
// working directory); an absolute path is returned as is. Normalize cleans
// the result.
func Join(dir, p string) string {
	if strings.HasPrefix(p, "/") || dir == "" {
		return p
	}
	return dir + "/" + p
}

// Normalize returns the key of an absolute path named by thread callerTID
// of process callerPID (the tgid). The path is cleaned lexically (//, ., ..)
// and ids that change from run to run are replaced by placeholders:
//
//	/proc/<callerPID>/...        -> /proc/self/...
//	/proc/<callerTID>/...        -> /proc/self/task/[tid]/...  (a non-leader thread's own /proc/<tid>)
//	/proc/<other pid>/...        -> /proc/[pid]/...
//	/proc/thread-self/...        -> /proc/self/task/[tid]/...
//	<process dir>/task/<tid>/... -> <process dir>/task/[tid]/...
//	<process or task dir>/fd/<n>, fdinfo/<n> -> .../fd/[fd], .../fdinfo/[fd]
//	<process or task dir>/map_files/<a>-<b>  -> .../map_files/[range]
//	/dev/pts/<n>                 -> /dev/pts/[n]
//	/dev/fd/<n>                  -> /dev/fd/[fd]
//	/dev/shm/<name>, /dev/mqueue/<name> -> /dev/shm/[name], /dev/mqueue/[name]
//
// Paths through a magic link are cut at the link (fd/<n>, cwd, root, exe,
// map_files/<range>, /dev/fd/<n>): /proc/self/root/etc/passwd is a use of
// /proc/self/root. Numbers are ids only where the kernel reads them as such
// (decimal, no leading zero); other numeric names (/proc/irq/5,
// /sys/devices/system/cpu/cpu0, /dev/loop0) are left alone. A relative path
// is only cleaned. Normalize is idempotent: placeholders are accepted as
// input.
func Normalize(p string, callerPID, callerTID int) string {
	if !strings.HasPrefix(p, "/") {
		if p == "" {
			return ""
		}
		return path.Clean(p)
	}
	c := path.Clean(p)
	switch {
	case Under("/proc", c):
		return normProc(c, callerPID, callerTID)
	case Under("/dev", c):
		return normDev(c)
	}
	return c
}

func normProc(c string, callerPID, callerTID int) string {
	segs := strings.Split(c[1:], "/")
	if len(segs) == 1 {
		return c
	}
	out := make([]string, 1, len(segs)+3)
	out[0] = "proc"
	rest := segs[2:]
	switch s := segs[1]; {
	case s == "self" || s == "[pid]":
		out = procDir(append(out, s), rest)
	case s == "thread-self":
		out = taskDir(append(out, "self", "task", "[tid]"), rest)
	case isPID(s):
		switch n := atoi(s); {
		case n == callerPID:
			out = procDir(append(out, "self"), rest)
		case n == callerTID:
			out = taskDir(append(out, "self", "task", "[tid]"), rest)
		default:
			out = procDir(append(out, "[pid]"), rest)
		}
	default:
		return c // /proc/sys, /proc/net, /proc/irq/5, ...
	}
	return "/" + strings.Join(out, "/")
}

// procDir appends what follows a process directory.
func procDir(out, rest []string) []string {
	if len(rest) >= 2 && rest[0] == "task" && (isPID(rest[1]) || rest[1] == "[tid]") {
		return taskDir(append(out, "task", "[tid]"), rest[2:])
	}
	return taskDir(out, rest)
}

// taskDir appends what follows a process or task directory.
func taskDir(out, rest []string) []string {
	if len(rest) == 0 {
		return out
	}
	switch rest[0] {
	case "fd", "fdinfo":
		if len(rest) >= 2 && (isFD(rest[1]) || rest[1] == "[fd]") {
			return append(out, rest[0], "[fd]")
		}
	case "map_files":
		if len(rest) >= 2 && (isRange(rest[1]) || rest[1] == "[range]") {
			return append(out, rest[0], "[range]")
		}
	case "cwd", "root", "exe":
		return append(out, rest[0])
	}
	return append(out, rest...)
}

func normDev(c string) string {
	segs := strings.Split(c[1:], "/")
	if len(segs) < 3 {
		return c
	}
	switch segs[1] {
	case "pts":
		if isFD(segs[2]) || segs[2] == "[n]" {
			return "/" + strings.Join(append([]string{"dev", "pts", "[n]"}, segs[3:]...), "/")
		}
	case "fd":
		if isFD(segs[2]) || segs[2] == "[fd]" {
			return "/dev/fd/[fd]"
		}
	case "shm", "mqueue":
		return "/dev/" + segs[1] + "/[name]"
	}
	return c
}

// isPID reports a decimal number the kernel reads as a pid or tid: no sign,
// no leading zero, not 0, fitting an int32.
func isPID(s string) bool {
	if len(s) == 0 || len(s) > 10 || s[0] < '1' || s[0] > '9' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return atoi(s) <= 1<<31-1
}

// isFD is isPID that also accepts "0".
func isFD(s string) bool { return s == "0" || isPID(s) }

// atoi converts a string isPID accepted; ten digits fit an int64.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// isRange reports a map_files name: "<start>-<end>" in lowercase hex.
func isRange(s string) bool {
	a, b, ok := strings.Cut(s, "-")
	return ok && isHex(a) && isHex(b)
}

func isHex(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// CheckKey validates a pseudo-file key, e.g. a Rule.Feature: an absolute,
// clean, normalised path under /proc, /sys or /dev.
func CheckKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("pseudo-file key is empty")
	case !strings.HasPrefix(key, "/"):
		return fmt.Errorf("pseudo-file key %q: want an absolute path under /proc, /sys or /dev", key)
	case path.Clean(key) != key:
		return fmt.Errorf("pseudo-file key %q is not clean (did you mean %q?)", key, path.Clean(key))
	case !IsPseudo(key):
		return fmt.Errorf("pseudo-file key %q is not under /proc, /sys or /dev", key)
	}
	// No real caller has pid or tid 0, so only placeholders survive.
	if n := Normalize(key, 0, 0); n != key {
		return fmt.Errorf("pseudo-file key %q is not normalised (did you mean %q?)", key, n)
	}
	return nil
}
