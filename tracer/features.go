package tracer

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"salsa.debian.org/loupe-team/loupe/internal/pseudofile"
	"salsa.debian.org/loupe-team/loupe/internal/subfeature"
	"salsa.debian.org/loupe-team/loupe/internal/sysent"
)

// Sub-features and pseudo-files: decoding at syscall-entry stops, fd
// following, and the pseudo-file stub/fake of doc/subfeatures.md.

// fdTable maps the fds of one file table to the pseudo-file they were opened
// from. Threads share it; fork copies it.
type fdTable struct {
	m map[int]fdPath
}

type fdPath struct {
	raw string // the path as opened, for resolving paths relative to the fd
	key string // normalised key
}

func (t *fdTable) clone() *fdTable {
	c := &fdTable{m: make(map[int]fdPath, len(t.m))}
	for k, v := range t.m {
		c.m[k] = v
	}
	return c
}

// exitAction is what a task must do at the exit stop of its current
// syscall.
type exitAction struct {
	openKey    *fdPath // record the returned fd as this pseudo-file
	dupKey     *fdPath // record the returned fd as a copy
	restoreArg int     // 1+index of an argument register to restore
	restoreVal uint64
}

func (a *exitAction) pending() bool { return a.openKey != nil || a.dupKey != nil || a.restoreArg != 0 }

// standIns are the empty file and directory a faked pseudo-file becomes.
type standIns struct {
	dir, file, emptyDir string
	isDir               map[string]bool // per key: the real file is a directory
}

func newStandIns() (*standIns, error) {
	dir, err := os.MkdirTemp("", "loupe-fake-")
	if err != nil {
		return nil, fmt.Errorf("tracer: stand-ins for faked pseudo-files: %w", err)
	}
	s := &standIns{dir: dir, file: filepath.Join(dir, "empty"), emptyDir: filepath.Join(dir, "emptydir"), isDir: map[string]bool{}}
	if err := os.WriteFile(s.file, nil, 0o444); err != nil {
		return nil, err
	}
	if err := os.Mkdir(s.emptyDir, 0o555); err != nil {
		return nil, err
	}
	// Tracees may run as other users (a sandbox, a test dropping root).
	os.Chmod(dir, 0o755)
	return s, nil
}

func (s *standIns) remove() {
	if s != nil {
		os.Chmod(s.emptyDir, 0o755)
		os.RemoveAll(s.dir)
	}
}

// forKey returns the stand-in path of a faked key, deciding once per key
// whether the real file is a directory, by stat of the path as the caller
// named it.
func (s *standIns) forKey(key, raw string, tgid, tid int) string {
	d, ok := s.isDir[key]
	if !ok {
		p := raw
		p = strings.Replace(p, "/proc/self/", "/proc/"+itoa(tgid)+"/", 1)
		p = strings.Replace(p, "/proc/thread-self/", "/proc/"+itoa(tgid)+"/task/"+itoa(tid)+"/", 1)
		if p == "/proc/self" {
			p = "/proc/" + itoa(tgid)
		}
		st, err := os.Stat(p)
		d = err == nil && st.IsDir()
		s.isDir[key] = d
	}
	if d {
		return s.emptyDir
	}
	return s.file
}

// featureRules are the sub-feature and pseudo-file rules of a run.
type featureRules struct {
	sub    map[int]map[string]*Rule // by syscall number, by canonical key
	subAll map[int]*Rule            // "<syscall>:*", by syscall number
	pseudo []*Rule
	// pseudoAll is the "/*" rule; each file it answers gets a rule of its
	// own in pseudoKeys, so that hits (and a fake's stand-in) are per file.
	pseudoAll  *Rule
	pseudoKeys map[string]*Rule
}

// compileFeatureRule validates a sub-feature or pseudo-file rule.
func compileFeatureRule(fr *featureRules, t *sysent.Table, dec *subfeature.Decoder, r *Rule) error {
	if r.Feature == "/*" {
		if r.Action == Kill || r.Action == Allow {
			return fmt.Errorf("rule %s: \"/*\" (every pseudo-file) takes stub, fake or errno", r)
		}
		if fr.pseudoAll != nil {
			return fmt.Errorf("rule %s: \"/*\" given twice", r)
		}
		fr.pseudoAll, fr.pseudoKeys = r, map[string]*Rule{}
		return nil
	}
	if strings.HasPrefix(r.Feature, "/") {
		if err := pseudofile.CheckKey(r.Feature); err != nil {
			return fmt.Errorf("rule %s: %w", r, err)
		}
		if r.Action == Kill {
			return fmt.Errorf("rule %s: kill is not defined for pseudo-files", r)
		}
		for _, p := range fr.pseudo {
			if p.Feature == r.Feature {
				return fmt.Errorf("rules %s and %s target the same pseudo-file", p, r)
			}
		}
		fr.pseudo = append(fr.pseudo, r)
		return nil
	}
	if dec == nil {
		return fmt.Errorf("rule %s: no sub-feature table for %s", r, runtime.GOARCH)
	}
	if sys, ok := strings.CutSuffix(r.Feature, ":*"); ok {
		nr, err := t.Lookup(sys)
		if err != nil {
			return fmt.Errorf("rule %s: %w", r, err)
		}
		switch {
		case !dec.Has(nr):
			return fmt.Errorf("rule %s: %s has no sub-features (doc/subfeatures.md lists those that do)", r, sys)
		case r.Action == Kill || r.Action == Allow:
			return fmt.Errorf("rule %s: \"%s:*\" takes stub, fake or errno", r, sys)
		case fr.subAll[nr] != nil:
			return fmt.Errorf("rule %s: \"%s:*\" given twice", r, sys)
		}
		if fr.subAll == nil {
			fr.subAll = map[int]*Rule{}
		}
		fr.subAll[nr] = r
		if fr.sub[nr] == nil {
			fr.sub[nr] = map[string]*Rule{} // the syscall's calls are decoded
		}
		return nil
	}
	nr, canon, err := dec.ParseKey(r.Feature)
	if err != nil {
		return fmt.Errorf("rule %s: %w", r, err)
	}
	if fr.sub[nr] == nil {
		fr.sub[nr] = map[string]*Rule{}
	}
	if p := fr.sub[nr][canon]; p != nil {
		return fmt.Errorf("rules %s and %s target the same sub-feature", p, r)
	}
	cp := *r
	cp.Feature = canon
	fr.sub[nr][canon] = &cp
	return nil
}

// subRule returns the rule for sub-feature key of syscall nr: its own, or
// one made (once) from the syscall's "<syscall>:*". Allow is no rule.
func (fr *featureRules) subRule(nr int, key string) *Rule {
	r := fr.sub[nr][key]
	if r == nil {
		all := fr.subAll[nr]
		if all == nil {
			return nil
		}
		r = &Rule{Feature: key, Action: all.Action, Errno: all.Errno}
		fr.sub[nr][key] = r
	}
	if r.Action == Allow {
		return nil
	}
	return r
}

// pseudoRule returns the most specific pseudo-file rule covering key, or
// one made (once) for key from "/*" when none does. Allow is no rule.
func (fr *featureRules) pseudoRule(key string) *Rule {
	var best *Rule
	for _, r := range fr.pseudo {
		if pseudofile.Under(r.Feature, key) && (best == nil || len(r.Feature) > len(best.Feature)) {
			best = r
		}
	}
	if best == nil && fr.pseudoAll != nil {
		if best = fr.pseudoKeys[key]; best == nil {
			best = &Rule{Feature: key, Action: fr.pseudoAll.Action, Errno: fr.pseudoAll.Errno}
			fr.pseudoKeys[key] = best
		}
	}
	if best != nil && best.Action == Allow {
		return nil
	}
	return best
}

// hasPseudo reports whether any pseudo-file rule is given.
func (fr *featureRules) hasPseudo() bool { return len(fr.pseudo) > 0 || fr.pseudoAll != nil }

// decision is what onEntry does to a syscall after looking at features.
type decision struct {
	rule   *Rule // the rule that fired, or nil
	retval int64 // for a skipped call
	skip   bool  // do not run the call
}

// features handles sub-features and pseudo-files at an entry stop:
// recording, and finding the rule that applies. It may rewrite a path
// argument (fake) and schedule work for the exit stop.
func (e *engine) features(t *task, info *syscallInfo) decision {
	p := t.proc
	nr := int(info.Nr)
	var d decision
	if e.sub != nil && (e.opts.Record&RecordFeatures != 0 || e.frules.sub[nr] != nil) {
		if key, ok := e.sub.Decode(nr, info.Args, func(addr uint64, buf []byte) error { return readMem(t.tid, addr, buf) }); ok {
			if e.opts.Record&RecordFeatures != 0 && p.bin != nil {
				p.bin.features[key]++
				if p.bin.seen != nil && nr < len(e.seenPlan.slots) {
					p.bin.seen.addTuple(nr, e.seenPlan.slots[nr], info.Args)
				}
			}
			if r := e.frules.subRule(nr, key); r != nil {
				d = decision{rule: r, retval: r.retval(), skip: true}
			}
		}
	}
	if !e.needPaths || p.fds == nil {
		return d
	}
	recording := e.opts.Record&RecordPseudoFiles != 0 && p.bin != nil
	if kind, fds := e.pf.Fds(nr, info.Args); kind != 0 {
		e.followFDs(t, nr, kind, fds, info, recording)
	} else if nr == e.fcntlNr && p.fds != nil {
		// fcntl(F_DUPFD*) copies an fd; other commands use it.
		fd := int(int32(info.Args[0]))
		if fp, ok := p.fds.m[fd]; ok {
			if recording {
				p.bin.pseudo[fp.key]++
			}
			if cmd := info.Args[1]; cmd == unix.F_DUPFD || cmd == unix.F_DUPFD_CLOEXEC {
				c := fp
				t.exit.dupKey = &c
			}
		}
	}
	pc := e.pf.Paths(nr)
	if pc == nil {
		return d
	}
	for i, a := range pc.Paths {
		addr := info.Args[a.Arg]
		var raw string
		if addr != 0 {
			s, err := readString(t.tid, addr, 4096)
			if err != nil {
				continue
			}
			raw = s
		}
		if e.pf.ActsOnDirfd(a, info.Args, raw, addr == 0) {
			if fp, ok := p.fds.m[int(int32(info.Args[a.Dirfd]))]; ok && recording {
				p.bin.pseudo[fp.key]++
			}
			continue
		}
		if addr == 0 || (a.AbsoluteOnly && !strings.HasPrefix(raw, "/")) {
			continue
		}
		full, ok := e.resolvePath(t, a, info, raw)
		if !ok {
			continue
		}
		tgid, tid := e.ids(t)
		key := pseudofile.Normalize(full, tgid, tid)
		if !pseudofile.IsPseudo(key) {
			continue
		}
		if recording {
			p.bin.pseudo[key]++
		}
		r := e.frules.pseudoRule(key)
		if r == nil {
			if i == 0 && pc.ReturnsFD {
				t.exit.openKey = &fdPath{raw: full, key: key}
			}
			continue
		}
		// A pseudo-file rule is the most specific: it wins over others.
		d = e.pseudoDecision(t, r, key, full, pc, a, info)
		if !d.skip && i == 0 && pc.ReturnsFD {
			t.exit.openKey = &fdPath{raw: full, key: key}
		}
		break
	}
	return d
}

// resolvePath makes a path argument absolute: against the caller's working
// directory (cached per process, re-read after chdir) or against the
// pseudo-file its dirfd was opened from. Relative to any other directory
// fd it cannot be a pseudo-file (ok false).
func (e *engine) resolvePath(t *task, a pseudofile.PathArg, info *syscallInfo, raw string) (string, bool) {
	if strings.HasPrefix(raw, "/") {
		return raw, true
	}
	dirfd, cwd := e.pf.RelativeTo(a, info.Args)
	if !cwd {
		fp, ok := t.proc.fds.m[dirfd]
		if !ok {
			return "", false
		}
		return pseudofile.Join(fp.raw, raw), true
	}
	p := t.proc
	if p.cwd == "" {
		c, err := e.procCwd(t.tid)
		if err != nil {
			return "", false
		}
		p.cwd = c
	}
	return pseudofile.Join(p.cwd, raw), true
}

func (e *engine) followFDs(t *task, nr int, kind pseudofile.FdKind, fds []int, info *syscallInfo, recording bool) {
	p := t.proc
	switch kind {
	case pseudofile.FdUse:
		for _, i := range fds {
			if fp, ok := p.fds.m[int(int32(info.Args[i]))]; ok && recording {
				p.bin.pseudo[fp.key]++
			}
		}
	case pseudofile.FdClose:
		if len(fds) == 2 { // close_range(first, last)
			first, last := uint32(info.Args[fds[0]]), uint32(info.Args[fds[1]])
			for fd := range p.fds.m {
				if uint32(fd) >= first && uint32(fd) <= last {
					delete(p.fds.m, fd)
				}
			}
			return
		}
		fd := int(int32(info.Args[fds[0]]))
		if fp, ok := p.fds.m[fd]; ok {
			if recording {
				p.bin.pseudo[fp.key]++
			}
			delete(p.fds.m, fd)
		}
	case pseudofile.FdDup:
		fp, ok := p.fds.m[int(int32(info.Args[fds[0]]))]
		if len(fds) == 1 { // dup: the new fd is the result
			if ok {
				c := fp
				t.exit.dupKey = &c
			}
			return
		}
		newfd := int(int32(info.Args[fds[1]]))
		if ok {
			p.fds.m[newfd] = fp
		} else {
			delete(p.fds.m, newfd)
		}
	}
}

// pseudoDecision applies a pseudo-file rule to one path argument.
func (e *engine) pseudoDecision(t *task, r *Rule, key, full string, pc *pseudofile.PathCall, a pseudofile.PathArg, info *syscallInfo) decision {
	d := decision{rule: r, skip: true}
	switch r.Action {
	case Stub:
		d.retval = -int64(unix.ENOENT)
		return d
	case Errno:
		d.retval = r.retval()
		return d
	}
	// Fake: the file exists and is empty; its descendants do not exist.
	if key != r.Feature {
		d.retval = -int64(unix.ENOENT)
		return d
	}
	act, errno := a.Op.Fake()
	var target string
	switch act {
	case pseudofile.FakeReturn:
		d.retval = -int64(errno)
		return d
	case pseudofile.FakePassthrough:
		return decision{rule: r}
	case pseudofile.FakeRedirectDir:
		target = e.stand.emptyDir
	case pseudofile.FakeRedirect:
		target = e.stand.forKey(key, full, t.proc.tgid, t.tid)
	case pseudofile.FakeOpen:
		flags := uint64(0)
		switch {
		case pc.OpenFlags >= 0:
			flags = info.Args[pc.OpenFlags]
		case a.MemFlags >= 0:
			if v, err := readUint64(t.tid, info.Args[a.MemFlags]); err == nil {
				flags = v
			}
		}
		if pc.Syscall == "creat" {
			flags = unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC
		}
		switch {
		case flags&unix.O_CREAT != 0 && flags&unix.O_EXCL != 0:
			d.retval = -int64(unix.EEXIST)
			return d
		case flags&unix.O_ACCMODE != unix.O_RDONLY:
			target = "/dev/null"
		case flags&unix.O_DIRECTORY != 0:
			target = e.stand.emptyDir
		default:
			target = e.stand.forKey(key, full, t.proc.tgid, t.tid)
		}
	default:
		return decision{rule: r}
	}
	if err := e.redirectArg(t, a.Arg, info, target); err != nil {
		// Cannot rewrite: fail like a missing file rather than run the
		// real call, which would defeat the experiment.
		d.retval = -int64(unix.ENOENT)
		return d
	}
	return decision{rule: r}
}

// redirectArg makes path argument i point to target for this call: the
// string is written below the stack's red zone and the register restored
// at the exit stop.
func (e *engine) redirectArg(t *task, i int, info *syscallInfo, target string) error {
	b := append([]byte(target), 0)
	addr := (info.SP - redZone - uint64(len(b)) - 64) &^ 15
	if err := writeMem(t.tid, addr, b); err != nil {
		return err
	}
	if err := ptPokeUser(t.tid, argRegOffsets[i], addr); err != nil {
		return err
	}
	t.exit.restoreArg, t.exit.restoreVal = i+1, info.Args[i]
	return nil
}

// onExitFeatures finishes what an entry stop scheduled.
func (e *engine) onExitFeatures(t *task, info *syscallInfo) {
	x := t.exit
	t.exit = exitAction{}
	if x.restoreArg != 0 {
		ptPokeUser(t.tid, argRegOffsets[x.restoreArg-1], x.restoreVal)
	}
	if info.isError() || t.proc.fds == nil {
		return
	}
	fd := int(info.rval())
	if x.openKey != nil {
		t.proc.fds.m[fd] = *x.openKey
	}
	if x.dupKey != nil {
		t.proc.fds.m[fd] = *x.dupKey
	}
}

// seedFDs fills the fd table of a process that just exec'd an in-scope
// image: inherited fds (and close-on-exec ones gone) from /proc/pid/fd.
func (e *engine) seedFDs(t *task) {
	p := t.proc
	p.fds = &fdTable{m: map[int]fdPath{}}
	dir := procPath(p.tgid, "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, ent := range ents {
		fd, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink(dir + "/" + ent.Name())
		if err != nil || !strings.HasPrefix(target, "/") {
			continue
		}
		target = e.local(target)
		tgid, _ := e.ids(t)
		if key := pseudofile.Normalize(target, tgid, tgid); pseudofile.IsPseudo(key) {
			p.fds.m[fd] = fdPath{raw: target, key: key}
		}
	}
}
