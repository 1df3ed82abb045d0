package tracer

// Syscall stops of in-scope processes, and interventions: a seccomp stop
// (SECCOMP_RET_TRACE) or a PTRACE_SYSCALL stop comes here; onEntry counts
// the call, asks features.go for sub-features and pseudo-files, and
// applies the rule that matches: the call is skipped (its number set to
// -1) and its return value set, or the process is killed.

import (
	"golang.org/x/sys/unix"
)

// onSeccomp handles a SECCOMP_RET_TRACE stop: a syscall entry of a filtered
// process.
func (e *engine) onSeccomp(t *task) {
	var info syscallInfo
	if err := ptSyscallInfo(t.tid, &info); err != nil {
		e.resume(t, 0)
		return
	}
	if e.clearUntraced(t, &info) {
		e.resume(t, 0)
		return
	}
	if !t.proc.inScope || t.inj != nil {
		// An out-of-scope descendant of an in-scope process: it inherited the
		// filter, but nothing of it is recorded or changed. Or, with counts
		// seen, an inherited filter trapping the syscalls that stack this
		// image's own filter (seen.go).
		e.resume(t, 0)
		return
	}
	e.usedSeccomp = true
	e.onEntry(t, &info, true)
}

// clearUntraced makes a clone with CLONE_UNTRACED (or a clone3 with it in
// its struct) create a traced child, by clearing the flag before the call
// runs: such a child would escape the tracer, and with loupe's filter
// inherited and no tracer behind it, every filtered call of it would fail.
// Where clone3's struct cannot be written, the call fails with ENOSYS, as
// on a kernel without clone3, and libc retries with clone. It reports
// whether the call was refused.
func (e *engine) clearUntraced(t *task, info *syscallInfo) bool {
	if info.Arch != nativeAuditArch {
		return false
	}
	switch nr := int(info.Nr); {
	case nr == e.cloneNr && nr >= 0:
		if info.Args[0]&unix.CLONE_UNTRACED != 0 {
			info.Args[0] &^= unix.CLONE_UNTRACED
			ptPokeUser(t.tid, argRegOffsets[0], info.Args[0])
		}
	case nr == e.clone3Nr && nr >= 0:
		if info.Args[1] < 8 {
			return false // the kernel refuses it (EINVAL)
		}
		flags, err := readUint64(t.tid, info.Args[0])
		if err != nil {
			return false // EFAULT for the call too
		}
		if flags&unix.CLONE_UNTRACED == 0 {
			return false
		}
		if writeUint64(t.tid, info.Args[0], flags&^unix.CLONE_UNTRACED) != nil {
			ptPokeUser(t.tid, offSyscallNr, ^uint64(0))
			enosys := -int64(unix.ENOSYS)
			ptPokeUser(t.tid, offRetval, uint64(enosys))
			return true
		}
	}
	return false
}

// onSyscallStop handles a PTRACE_SYSCALL stop (entry or exit).
func (e *engine) onSyscallStop(t *task) {
	var info syscallInfo
	if err := ptSyscallInfo(t.tid, &info); err != nil {
		e.resume(t, 0)
		return
	}
	if t.inj != nil {
		e.stepInjection(t, &info)
		return
	}
	switch info.Op {
	case unix.PTRACE_SYSCALL_INFO_ENTRY:
		if !t.proc.inScope || t.proc.filtered {
			e.resume(t, 0)
			return
		}
		e.usedPtrace = true
		if e.clearUntraced(t, &info) {
			e.resume(t, 0)
			return
		}
		e.onEntry(t, &info, false)
	case unix.PTRACE_SYSCALL_INFO_EXIT:
		t.wantExit = false
		if t.exit.pending() {
			e.onExitFeatures(t, &info)
		}
		if b := t.proc.bin; b != nil && b.errs != nil && info.isError() && t.lastNr >= 0 && t.lastNr < len(b.errs) {
			b.errs[t.lastNr]++
		}
		e.resume(t, 0)
	default:
		e.resume(t, 0)
	}
}

// onEntry records and intervenes at a syscall entry of an in-scope process.
func (e *engine) onEntry(t *task, info *syscallInfo, seccompStop bool) {
	p := t.proc
	nr := int(info.Nr)
	t.lastNr = -1
	if info.Arch != nativeAuditArch || nr&x32Bit != 0 {
		if e.opts.Record&RecordSyscalls != 0 && p.bin != nil {
			k := foreignArchName(info.Arch) + ":" + itoa(nr)
			if info.Arch == nativeAuditArch {
				k = "x32:" + itoa(nr&^x32Bit)
			}
			p.bin.other[k]++
		}
		e.entryDone(t)
		return
	}
	if p.rec != nil {
		p.rec.SyscallStops++
	}
	if b := p.bin; b != nil && e.opts.Record&RecordSyscalls != 0 {
		if nr >= 0 && nr < len(b.counts) {
			b.counts[nr]++
			if b.seen != nil {
				b.seen.addNr(nr)
			}
		} else {
			b.other[e.table.Name(nr)]++
		}
	}
	if p.rec != nil && e.rules.isExec(nr) {
		if v := procVmHWM(t.tid, e.statusBuf); v > p.rec.PeakRSSKB {
			p.rec.PeakRSSKB = v
		}
	}
	if e.rules.killAll {
		e.res.RuleHits["*"]++
		sendSignal(p.tgid, unix.SIGKILL)
		e.entryDone(t)
		return
	}
	if nr == e.chdirNrs[0] || nr == e.chdirNrs[1] {
		p.cwd = ""
	}
	var d decision
	if e.sub != nil || e.needPaths {
		d = e.features(t, info)
	}
	if d.rule == nil {
		if r := e.rules.match(nr); r != nil {
			d = decision{rule: r, retval: r.retval(), skip: true}
		}
	}
	if r := d.rule; r != nil {
		e.res.RuleHits[r.Feature]++
		if p.bin != nil {
			p.bin.hits[r.Feature]++
		}
		if r.Action == Kill {
			sendSignal(p.tgid, unix.SIGKILL)
			e.entryDone(t)
			return
		}
		if d.skip {
			// Skip the call and set its return value.
			t.exit = exitAction{}
			if t.notif != nil {
				e.answerEntry(t, d.retval)
				return
			}
			ptPokeUser(t.tid, offSyscallNr, ^uint64(0))
			ptPokeUser(t.tid, offRetval, uint64(d.retval))
			e.entryDone(t)
			return
		}
	}
	if seccompStop && e.opts.Record&RecordErrors != 0 {
		t.lastNr = nr
		if t.notif != nil {
			t.notif.wantErr = true
		} else {
			t.wantExit = true
		}
	} else if !seccompStop {
		t.lastNr = nr
	}
	e.entryDone(t)
}

// entryDone lets t run on after onEntry: resumed from its stop, or (notify
// mode) answered by the caller, onTracedExec.
func (e *engine) entryDone(t *task) {
	if t.notif == nil {
		e.resume(t, 0)
	}
}
