package debhelper

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     []string
		want    Options
		wantErr string
	}{
		{name: "empty", want: Options{}},
		{
			name: "dh arch sequence",
			args: []string{"-a", "-O--buildsystem=makefile"},
			want: Options{Forward: []string{"-a", "--buildsystem=makefile"}, ListArgs: []string{"-a"}},
		},
		{
			name: "bundled package name",
			args: []string{"-plibfoo1", "-Nfoo-doc"},
			want: Options{Forward: []string{"--package=libfoo1", "--no-package=foo-doc"},
				ListArgs: []string{"--package=libfoo1", "--no-package=foo-doc"}},
		},
		{
			name: "separate and long spellings",
			args: []string{"-p", "libfoo1", "--package", "foo", "--no-package=bar", "--arch", "--indep"},
			want: Options{Forward: []string{"--package=libfoo1", "--package=foo", "--no-package=bar", "-a", "-i"},
				ListArgs: []string{"--package=libfoo1", "--package=foo", "--no-package=bar", "-a", "-i"}},
		},
		{
			name: "bundle of flags then a value",
			args: []string{"-vpfoo"},
			want: Options{Verbose: true, Forward: []string{"-v", "--package=foo"}, ListArgs: []string{"--package=foo"}},
		},
		{
			name: "-O options: known ones used, unknown ones forwarded",
			args: []string{"-O-Nfoo", "-O--buildsystem=cmake", "-O-Dsrc", "-O-v"},
			want: Options{Verbose: true, Forward: []string{"--no-package=foo", "--buildsystem=cmake", "-Dsrc", "-v"},
				ListArgs: []string{"--no-package=foo"}},
		},
		{
			name: "-O with a separate value",
			args: []string{"-O", "--sourcedirectory=src"},
			want: Options{Forward: []string{"--sourcedirectory=src"}},
		},
		{
			name: "command after --",
			args: []string{"-a", "--", "make", "-C", "build", "check"},
			want: Options{Forward: []string{"-a"}, ListArgs: []string{"-a"}, HasCommand: true,
				Command: []string{"make", "-C", "build", "check"}},
		},
		{
			name: "empty command",
			args: []string{"--"},
			want: Options{HasCommand: true, Command: []string{}},
		},
		{
			name: "no-act and tmpdir",
			args: []string{"--no-act", "-Pdebian/foo-tmp"},
			want: Options{NoAct: true, Tmpdir: "debian/foo-tmp", Forward: []string{"--tmpdir=debian/foo-tmp"}},
		},
		{
			name: "non-option",
			args: []string{"stray", "-i"},
			want: Options{NonOptions: []string{"stray"}, Forward: []string{"-i"}, ListArgs: []string{"-i"}},
		},
		{
			name: "DH_INTERNAL_OPTIONS and DH_OPTIONS stay in the environment",
			env: []string{"DH_INTERNAL_OPTIONS=-O--buildsystem=makefile\x1e-Nmulti-loupe-scripts\x1e-a",
				"DH_OPTIONS=-v"},
			want: Options{Verbose: true},
		},
		{
			name: "unknown option in DH_OPTIONS is a warning",
			env:  []string{"DH_OPTIONS=-a --frobnicate"},
			want: Options{Warnings: []string{"ignored unknown options in DH_OPTIONS: --frobnicate"}},
		},
		{
			name: "unknown options in DH_INTERNAL_OPTIONS are ignored",
			env:  []string{"DH_INTERNAL_OPTIONS=--frobnicate\x1e-i"},
			want: Options{},
		},
		{name: "DH_VERBOSE", env: []string{"DH_VERBOSE=1"}, want: Options{Verbose: true}},
		{name: "empty DH_VERBOSE", env: []string{"DH_VERBOSE="}, want: Options{}},
		{name: "DH_QUIET", env: []string{"DH_QUIET=1"}, want: Options{Quiet: true}},
		{name: "terse", env: []string{"DEB_BUILD_OPTIONS=terse parallel=2"}, want: Options{Quiet: true}},
		{name: "verbose beats quiet", args: []string{"-v"}, env: []string{"DH_QUIET=1"},
			want: Options{Verbose: true, Forward: []string{"-v"}}},
		{name: "DH_NO_ACT", env: []string{"DH_NO_ACT=1"}, want: Options{NoAct: true}},
		{name: "unknown option", args: []string{"--frobnicate"}, wantErr: "unknown option or error during option parsing: --frobnicate"},
		{name: "unknown short option", args: []string{"-x"}, wantErr: "unknown option or error during option parsing: -x"},
		{name: "flag with a value", args: []string{"--verbose=1"}, wantErr: "--verbose=1"},
		{name: "missing value", args: []string{"--package"}, wantErr: "--package"},
		{name: "-p with a dash value", args: []string{"-p", "-a"},
			want: Options{Forward: []string{"--package=-a"}, ListArgs: []string{"--package=-a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOptions(tt.args, tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestParseOptionsHelp(t *testing.T) {
	for _, a := range []string{"-h", "--help"} {
		if _, err := ParseOptions([]string{a}, nil); !errors.Is(err, ErrHelp) {
			t.Errorf("%s: error = %v, want ErrHelp", a, err)
		}
	}
}

// needDebhelper skips when debhelper's tools are not installed.
func needDebhelper(t *testing.T) {
	t.Helper()
	for _, c := range []string{"dh_listpackages", "dpkg-architecture"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("%s not installed (apt-get install debhelper dpkg-dev, or make deps)", c)
		}
	}
}

// multiLoupe is the source tree of testdata/multi-loupe (arch:any and
// arch:all packages).
func multiLoupe(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../testdata/multi-loupe")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCapturedDhInternalOptions replays DH_INTERNAL_OPTIONS and DH_OPTIONS
// values recorded from real dh runs (testdata/dh-options.jsonl, made by
// testdata/capture-dh-options): they must parse, and dh_listpackages run
// through ListPackages in the same environment must answer what it
// answered inside the real build.
func TestCapturedDhInternalOptions(t *testing.T) {
	needDebhelper(t)
	f, err := os.Open("testdata/dh-options.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := multiLoupe(t)
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var rec struct {
			Variant, Build, Target string
			DIO                    string   `json:"dh_internal_options"`
			DHO                    string   `json:"dh_options"`
			Packages               []string `json:"packages"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		n++
		t.Run(rec.Variant+rec.Build+"/"+rec.Target, func(t *testing.T) {
			env := append(os.Environ(), "DH_INTERNAL_OPTIONS="+rec.DIO, "DH_OPTIONS="+rec.DHO, "DEB_BUILD_PROFILES=")
			opts, err := ParseOptions(nil, env)
			if err != nil {
				t.Fatalf("parse %q: %v", rec.DIO, err)
			}
			got, err := ListPackages(context.Background(), dir, opts.ListArgs, env)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, " ") != strings.Join(rec.Packages, " ") {
				t.Errorf("packages = %v, in the real build %v", got, rec.Packages)
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d records in testdata/dh-options.jsonl", n)
	}
}

// TestListArgsEquivalent checks that the normalised selection options
// select what the raw spelling selects, according to dh_listpackages.
func TestListArgsEquivalent(t *testing.T) {
	needDebhelper(t)
	dir := multiLoupe(t)
	env := append(os.Environ(), "DH_INTERNAL_OPTIONS=", "DH_OPTIONS=", "DEB_BUILD_PROFILES=")
	ctx := context.Background()
	for _, args := range [][]string{
		{"-a"}, {"-i"}, {"-ai"}, {"-pmulti-loupe-bin"}, {"-p", "multi-loupe-scripts"},
		{"--package=multi-loupe-bin"}, {"-Nmulti-loupe-bin"}, {"-O-Nmulti-loupe-bin"},
		{"-O--buildsystem=makefile", "-a"}, {"-vpmulti-loupe-scripts"},
		{"-i", "-O-Nmulti-loupe-scripts"},
	} {
		opts, err := ParseOptions(args, env)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		got, err := ListPackages(ctx, dir, opts.ListArgs, env)
		if err != nil {
			t.Fatalf("%v: %v", opts.ListArgs, err)
		}
		want, err := ListPackages(ctx, dir, args, env)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%v → %v selects %v, want %v", args, opts.ListArgs, got, want)
		}
	}
}

func FuzzParseOptions(f *testing.F) {
	f.Add("-plibfoo1\x00-O--buildsystem=x\x00--\x00make", "-a\x1e-Nfoo")
	f.Add("-vV\x00-u", "")
	f.Fuzz(func(t *testing.T, args, dio string) {
		a := strings.Split(args, "\x00")
		o, err := ParseOptions(a, []string{"DH_INTERNAL_OPTIONS=" + dio})
		if err != nil {
			return
		}
		// Normalisation is idempotent: the normalised selection parses
		// to itself.
		o2, err := ParseOptions(o.ListArgs, nil)
		if err != nil {
			t.Fatalf("normalised %q: %v", o.ListArgs, err)
		}
		if !reflect.DeepEqual(o.ListArgs, o2.ListArgs) {
			t.Fatalf("ListArgs %q, after forwarding %q", o.ListArgs, o2.ListArgs)
		}
	})
}
