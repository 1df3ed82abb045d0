package tracer

import (
	"bytes"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Small /proc readers. They use raw unix calls with a reused buffer: they
// run at every exec and exit of in-scope processes.

func itoa(i int) string { return strconv.Itoa(i) }

func procPath(pid int, name string) string { return "/proc/" + itoa(pid) + "/" + name }

// procExe returns the resolved executable of pid, without the " (deleted)"
// suffix the kernel adds for unlinked files.
func procExe(pid int) (string, error) {
	s, err := os.Readlink(procPath(pid, "exe"))
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(s, " (deleted)"), nil
}

func procCwd(pid int) (string, error) { return os.Readlink(procPath(pid, "cwd")) }

// readSmall reads a small /proc file into buf.
func readSmall(path string, buf []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return buf[:n], nil
}

// procCmdline returns argv of pid (at most 64 KiB of it).
func procCmdline(pid int) []string {
	b, err := readSmall(procPath(pid, "cmdline"), make([]byte, 64<<10))
	if err != nil || len(b) == 0 {
		return nil
	}
	b = bytes.TrimSuffix(b, []byte{0})
	return strings.Split(string(b), "\x00")
}

// procStatusField returns the value of a "Key:\tvalue" line of
// /proc/pid/status.
func procStatusField(pid int, key string, buf []byte) string {
	b, err := readSmall(procPath(pid, "status"), buf)
	if err != nil {
		return ""
	}
	return statusField(b, key)
}

// statusField returns the value of key in the text of a /proc status file,
// so that several fields can come from one read.
func statusField(b []byte, key string) string {
	k := []byte("\n" + key + ":")
	i := bytes.Index(b, k)
	if i < 0 {
		return ""
	}
	rest := b[i+len(k):]
	if j := bytes.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	return strings.TrimSpace(string(rest))
}

// procVmHWM returns the peak RSS of pid's memory in KiB.
func procVmHWM(pid int, buf []byte) uint64 {
	v := strings.TrimSuffix(procStatusField(pid, "VmHWM", buf), " kB")
	n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	return n
}

// procHasCap reports whether pid has capability c in its effective set
// (relative to its own user namespace).
func procHasCap(pid int, c uint, buf []byte) bool {
	v, err := strconv.ParseUint(procStatusField(pid, "CapEff", buf), 16, 64)
	return err == nil && v&(1<<c) != 0
}

// procFDCount counts the open fds of pid.
func procFDCount(pid int) int {
	fd, err := unix.Open(procPath(pid, "fd"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	defer unix.Close(fd)
	buf := make([]byte, 8192)
	n := 0
	for {
		m, err := unix.Getdents(fd, buf)
		if err != nil || m <= 0 {
			break
		}
		for off := 0; off < m; {
			reclen := int(buf[off+16]) | int(buf[off+17])<<8
			name := buf[off+19 : off+reclen]
			if name[0] != '.' {
				n++
			}
			off += reclen
		}
	}
	return n
}

// nsPid returns the innermost of pid's ids (the NSpid line of its status):
// its pid as seen in its own PID namespace. It falls back to pid.
func nsPid(pid int, buf []byte) int {
	f := strings.Fields(procStatusField(pid, "NSpid", buf))
	if len(f) == 0 {
		return pid
	}
	n, err := strconv.Atoi(f[len(f)-1])
	if err != nil {
		return pid
	}
	return n
}

// local turns a path read from /proc/<tracee> into one loupe can use (see
// rootPrefix).
func (e *engine) local(p string) string {
	if e.rootPrefix == "" {
		return p
	}
	if p == e.rootPrefix {
		return "/"
	}
	if rest, ok := strings.CutPrefix(p, e.rootPrefix); ok && strings.HasPrefix(rest, "/") {
		return rest
	}
	return p
}

func (e *engine) procCwd(pid int) (string, error) {
	c, err := procCwd(pid)
	return e.local(c), err
}

// ids returns the tgid and the tid of t as t itself sees them: in a PID
// namespace they differ from loupe's.
func (e *engine) ids(t *task) (tgid, tid int) {
	if e.res.Containment != ContainPIDNamespace {
		return t.proc.tgid, t.tid
	}
	if t.nsTid == 0 {
		t.nsTid = nsPid(t.tid, e.statusBuf)
	}
	if t.proc.nsTgid == 0 {
		t.proc.nsTgid = nsPid(t.proc.tgid, e.statusBuf)
	}
	return t.proc.nsTgid, t.nsTid
}
