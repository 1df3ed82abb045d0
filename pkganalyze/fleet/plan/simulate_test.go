package plan

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/testutil"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/dataset"
	"salsa.debian.org/loupe-team/loupe/pkganalyze/fleet/loupedb"
)

func TestOSFileFeaturesAndPseudoFiles(t *testing.T) {
	o := osFile(t, "read\nioctl\nioctl:TIOCINQ,stubbed\nioctl:0x5401,implemented\n/proc/self/status,faked\n/dev,implemented\n")
	if o.Features["ioctl:FIONREAD"] != Stubbed || o.Features["ioctl:TCGETS"] != Implemented || len(o.Features) != 2 {
		t.Errorf("features (canonical keys): %v", o.Features)
	}
	if o.PseudoFiles["/proc/self/status"] != Faked || o.PseudoFiles["/dev"] != Implemented || len(o.State) != 2 {
		t.Errorf("pseudo-files %v, syscalls %v", o.PseudoFiles, o.State)
	}
	if o.Origin["ioctl:FIONREAD"] != "test-os:3" || o.Origin["/dev"] != "test-os:6" || o.Origin["read"] != "test-os:1" {
		t.Errorf("origins %v", o.Origin)
	}
	for _, tt := range []struct{ text, want string }{
		{"ioctl:TCGEST\n", `x:1: field name: sub-feature key "ioctl:TCGEST"`},
		{"read:FOO\n", "x:1: field name:"},
		{"/proc/./self\n", `x:1: field name: pseudo-file key "/proc/./self" is not clean (did you mean "/proc/self"?)`},
		{"/etc/passwd\n", "x:1: field name: pseudo-file key \"/etc/passwd\" is not under /proc, /sys or /dev"},
		{"read\nioctl:TCGETS,stubbed\nioctl:0x5401,faked\n", "x:3: ioctl:TCGETS listed twice, as stubbed and faked"},
	} {
		if _, err := ParseOS("x", strings.NewReader(tt.text)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.text, err, tt.want)
		}
	}
}

func TestSimulationRules(t *testing.T) {
	for _, tt := range []struct {
		name, os string
		want     string
		warn     string
	}{
		{"syscalls only", "read\nwrite,stubbed\nfutimensat\nmkdir,faked\n",
			"*=stubbed read=implemented write=stubbed mkdir=faked", ""},
		{"sub-features of an implemented syscall", "ioctl\nioctl:TCGETS,faked\nfcntl:F_SETFD\n",
			"*=stubbed ioctl=implemented ioctl:*=stubbed ioctl:TCGETS=faked", "x:3: fcntl:F_SETFD: fcntl is not listed, so its sub-features never run"},
		{"pseudo-files", "openat\n/proc/self,implemented\n/dev/null,faked\n",
			"*=stubbed openat=implemented /*=stubbed /dev/null=faked /proc/self=implemented", ""},
	} {
		o, err := ParseOS("x", strings.NewReader(tt.os))
		if err != nil {
			t.Fatal(err)
		}
		rules, warns := o.SimulationRules()
		var got []string
		for _, r := range rules {
			got = append(got, r.Feature+"="+r.Action.String())
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s: rules %s\nwant %s", tt.name, strings.Join(got, " "), tt.want)
		}
		if (tt.warn == "") != (len(warns) == 0) || (tt.warn != "" && !strings.HasPrefix(warns[0], tt.warn)) {
			t.Errorf("%s: warnings %q, want %q", tt.name, warns, tt.warn)
		}
	}
}

func TestAnswer(t *testing.T) {
	o := osFile(t, "read\nwrite,stubbed\nioctl\nioctl:TCGETS,faked\n/proc/self,faked\n/proc/self/status,implemented\n")
	for _, tt := range []struct{ key, want string }{
		{"read", "implemented runs test-os:1"},
		{"write", "stubbed -ENOSYS test-os:2"},
		{"prlimit64", "absent -ENOSYS not listed"},
		{"ioctl:TCGETS", "faked 0 test-os:4"},
		{"ioctl:FIONREAD", "absent -ENOSYS not listed"},
		{"/proc/self", "faked empty file test-os:5"},
		{"/proc/self/stat", "faked empty file test-os:5 (/proc/self)"},
		{"/proc/self/status", "implemented runs test-os:6"},
		{"/dev/null", "absent -ENOENT not listed"},
	} {
		a, origin := o.Answer(tt.key)
		if got := a.String() + " " + Returns(tt.key, a) + " " + origin; got != tt.want {
			t.Errorf("%s: %q, want %q", tt.key, got, tt.want)
		}
	}
}

// TestAfterStep: the OS after a step is the OS file plus the steps so far,
// each name's origin says which step set it, a stub later implemented is
// implemented.
func TestAfterStep(t *testing.T) {
	o := osFile(t, "read\n")
	apps, _ := Apps(entries(ent{name: "c1", req: "read", stub: "openat"}, ent{name: "c2", req: "read openat"}), Bench, false, nil)
	p := Compute(o, apps, Bench, Options{})
	if strings.Join(stepSummary(p), "|") != "0 impl[] stub[openat] fake[] +c1|1 impl[openat] stub[] fake[] +c2" {
		t.Fatalf("plan %v", stepSummary(p))
	}
	for _, tt := range []struct {
		step int
		want string
		apps string
	}{
		{0, "read=implemented (test-os:1) openat=stubbed (plan step 0)", "c1"},
		{1, "read=implemented (test-os:1) openat=implemented (plan step 1)", "c1 c2"},
	} {
		after, err := p.AfterStep(o, tt.step)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range sortedNames(after.State) {
			got = append(got, fmt.Sprintf("%s=%s (%s)", n, after.State[n], after.Origin[n]))
		}
		if strings.Join(got, " ") != tt.want || strings.Join(p.SupportedAt(tt.step), " ") != tt.apps {
			t.Errorf("step %d: %s, apps %v\nwant %s, apps %s", tt.step, strings.Join(got, " "), p.SupportedAt(tt.step), tt.want, tt.apps)
		}
	}
	if o.State["openat"] != Absent || len(o.State) != 1 {
		t.Errorf("AfterStep changed the OS it was given: %v", o.State)
	}
	if _, err := p.AfterStep(o, 2); err == nil || !strings.Contains(err.Error(), "plan step 2: the plan has steps 0 to 1") {
		t.Errorf("step out of range: %v", err)
	}
}

// TestAfterStepSupportsWhatItClaims: on the whole of loupedb, for every OS
// file, every application the plan claims after step N accepts the OS as
// AfterStep(N) makes it: what a simulation of that step gives each of
// them. The check reads the evidence directly (Apps), not the plan.
func TestAfterStepSupportsWhatItClaims(t *testing.T) {
	db := testutil.LoupeDB(t)
	es, _, err := loupedb.Import(db)
	if err != nil {
		t.Fatal(err)
	}
	apps, _ := Apps(es, Any, false, nil)
	byName := map[string]*App{}
	for _, a := range apps {
		byName[a.Name] = a
	}
	files, _ := filepath.Glob(filepath.Join(db, "*.syscalls"))
	checked := 0
	for _, f := range files {
		o, err := ReadOS(f)
		if err != nil {
			t.Fatal(err)
		}
		p := Auto(o, es, Any, nil, nil, false)
		for n := range p.Steps {
			after, err := p.AfterStep(o, n)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range p.SupportedAt(n) {
				checked++
				for s, st := range byName[name].Syscalls {
					a := after.State[s]
					if a != Implemented && !(a == Stubbed && st&dataset.StubOK != 0) && !(a == Faked && st&dataset.FakeOK != 0) {
						t.Errorf("%s step %d: %s is claimed but %s is %s", o.Name, n, name, s, a)
					}
				}
			}
		}
	}
	if checked < 1000 {
		t.Errorf("only %d claims checked over %d OS files", checked, len(files))
	}
}
