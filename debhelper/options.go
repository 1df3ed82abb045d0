package debhelper

import (
	"fmt"
	"strings"
)

// Options is what a debhelper command learns from its arguments and from
// DH_INTERNAL_OPTIONS, DH_OPTIONS, DH_VERBOSE and DH_NO_ACT, parsed the way
// Debian::Debhelper::Dh_Getopt (debhelper 13) parses them.
//
// Package selection is recorded but not resolved here: callers pass
// ListArgs to dh_listpackages (with the same environment), so that
// architecture, Build-Profiles and DH_INTERNAL_OPTIONS are applied by
// debhelper itself.
type Options struct {
	Verbose bool // -v, --verbose or DH_VERBOSE
	// Quiet is DH_QUIET or DEB_BUILD_OPTIONS=terse, unless Verbose.
	Quiet bool
	NoAct bool // --no-act or DH_NO_ACT
	// Tmpdir is -P/--tmpdir: the staging directory of the (single) package.
	Tmpdir string

	// HasCommand is set when the command line has "--"; Command is what
	// follows it (dh_loupe: the test command of a package whose rules do
	// not use dh).
	HasCommand bool
	Command    []string

	// NonOptions are arguments that are neither options nor after "--".
	NonOptions []string

	// Forward is the command line in a normalised spelling for a nested
	// dh or debhelper command: known options are spelled one per argument
	// ("-plibfoo1" becomes "--package=libfoo1"), and "-O" options are
	// unwrapped ("-O--buildsystem=cmake" becomes "--buildsystem=cmake") so
	// that a nested dh passes them on to its commands as dh would.
	// DH_INTERNAL_OPTIONS and DH_OPTIONS are not included: they reach
	// nested commands through the environment.
	Forward []string

	// ListArgs are the package-selection options of the command line
	// (normalised, "-O" ones included), for dh_listpackages.
	ListArgs []string

	// Warnings are debhelper-style warnings met while parsing (unknown
	// options in DH_OPTIONS).
	Warnings []string
}

// optKind is how an option takes its value.
type optKind int

const (
	flagOpt     optKind = iota // no value
	valueOpt                   // =s: a value is required
	optionalOpt                // :s: a value is optional
)

type optSpec struct {
	kind optKind
	// canon is the normalised spelling used in Forward.
	canon string
	// selects marks package-selection options (ListArgs).
	selects bool
}

// dhOptions is Dh_Getopt's table of options common to all debhelper
// commands (Dh_Getopt.pm, getoptions).
var dhOptions = map[string]optSpec{
	"v": {flagOpt, "-v", false}, "verbose": {flagOpt, "-v", false},
	"no-act": {flagOpt, "--no-act", false},
	"i":      {flagOpt, "-i", true}, "indep": {flagOpt, "-i", true},
	"a": {flagOpt, "-a", true}, "arch": {flagOpt, "-a", true},
	"s": {flagOpt, "-s", true}, "same-arch": {flagOpt, "-s", true},
	"p": {valueOpt, "--package", true}, "package": {valueOpt, "--package", true},
	"N": {valueOpt, "--no-package", true}, "no-package": {valueOpt, "--no-package", true},
	"remaining-packages": {flagOpt, "--remaining-packages", true},
	"dbg-package":        {valueOpt, "--dbg-package", false},
	"n":                  {flagOpt, "-n", false}, "noscripts": {flagOpt, "-n", false}, "no-scripts": {flagOpt, "-n", false},
	"o": {flagOpt, "-o", false}, "onlyscripts": {flagOpt, "-o", false}, "only-scripts": {flagOpt, "-o", false},
	"X": {valueOpt, "--exclude", false}, "exclude": {valueOpt, "--exclude", false},
	"d": {flagOpt, "-d", false},
	"P": {valueOpt, "--tmpdir", false}, "tmpdir": {valueOpt, "--tmpdir", false},
	"u": {valueOpt, "-u", false},
	"V": {optionalOpt, "-V", false},
	"A": {flagOpt, "-A", false}, "all": {flagOpt, "-A", false},
	"h": {flagOpt, "--help", false}, "help": {flagOpt, "--help", false},
	"mainpackage":   {valueOpt, "--mainpackage", false},
	"name":          {valueOpt, "--name", false},
	"error-handler": {valueOpt, "--error-handler", false},
	"O":             {valueOpt, "-O", false},
}

// ErrHelp is returned by ParseOptions for -h/--help.
var ErrHelp = fmt.Errorf("help requested")

// parsed is one recognised option occurrence.
type parsed struct {
	name  string // key in dhOptions
	value string
	has   bool // a value was given
}

// getopt parses args the way Getopt::Long does with debhelper's settings
// (bundling, no_ignore_case, no_auto_abbrev, permute with a "<>" handler):
// it returns the recognised options in order, the non-options, what
// follows "--" (and whether "--" was seen), and the unknown options.
func getopt(args []string) (opts []parsed, nonOpts, rest []string, dashdash bool, bad []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return opts, nonOpts, append([]string{}, args[i+1:]...), true, bad
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			spec, ok := dhOptions[name]
			if !ok || len(name) == 1 {
				// Getopt::Long with bundling does not accept "--a".
				bad = append(bad, a)
				continue
			}
			switch spec.kind {
			case flagOpt:
				if hasVal {
					bad = append(bad, a)
					continue
				}
				opts = append(opts, parsed{name: name})
			case valueOpt:
				if !hasVal {
					if i+1 >= len(args) {
						bad = append(bad, a)
						continue
					}
					i++
					val = args[i]
				}
				opts = append(opts, parsed{name: name, value: val, has: true})
			case optionalOpt:
				if !hasVal && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
					i++
					val, hasVal = args[i], true
				}
				opts = append(opts, parsed{name: name, value: val, has: hasVal})
			}
		case strings.HasPrefix(a, "-") && a != "-":
			// A bundle of single-letter options; a letter that takes a
			// value takes the rest of the bundle, or the next argument.
			bundle := a[1:]
			for j := 0; j < len(bundle); j++ {
				name := string(bundle[j])
				spec, ok := dhOptions[name]
				if !ok {
					bad = append(bad, "-"+name)
					continue
				}
				if spec.kind == flagOpt {
					opts = append(opts, parsed{name: name})
					continue
				}
				val, has := bundle[j+1:], j+1 < len(bundle)
				if !has && i+1 < len(args) && (spec.kind == valueOpt || !strings.HasPrefix(args[i+1], "-")) {
					i++
					val, has = args[i], true
				}
				if spec.kind == valueOpt && !has {
					bad = append(bad, "-"+name)
					break
				}
				opts = append(opts, parsed{name: name, value: val, has: has})
				break
			}
		default:
			nonOpts = append(nonOpts, a)
		}
	}
	return opts, nonOpts, nil, false, bad
}

// source says where options came from; it decides whether they are
// forwarded and how unknown options are treated.
type source int

const (
	fromInternal source = iota // DH_INTERNAL_OPTIONS
	fromEnv                    // DH_OPTIONS
	fromArgs                   // the command line
)

// ParseOptions parses a debhelper command's arguments (without argv[0])
// together with the debhelper environment variables in env (KEY=VALUE
// strings, as os.Environ returns). Like Dh_Getopt it reads
// DH_INTERNAL_OPTIONS (split on \x1e), then DH_OPTIONS (split on blanks),
// then the command line; unknown "-O" options are ignored, unknown options in
// DH_OPTIONS are ignored with a warning, and unknown options on the command
// line are an error.
func ParseOptions(args []string, env []string) (*Options, error) {
	o := &Options{}
	if v := Getenv(env, "DH_INTERNAL_OPTIONS"); v != "" {
		if err := o.apply(strings.Split(v, "\x1e"), fromInternal); err != nil {
			return nil, err
		}
	}
	if v := strings.Fields(Getenv(env, "DH_OPTIONS")); len(v) > 0 {
		if err := o.apply(v, fromEnv); err != nil {
			return nil, err
		}
	}
	if err := o.apply(args, fromArgs); err != nil {
		return nil, err
	}
	if Getenv(env, "DH_VERBOSE") != "" {
		o.Verbose = true
	}
	if Getenv(env, "DH_NO_ACT") != "" {
		o.NoAct = true
	}
	if !o.Verbose && (Getenv(env, "DH_QUIET") != "" || ParseBuildOptions(Getenv(env, "DEB_BUILD_OPTIONS")).Has("terse")) {
		o.Quiet = true
	}
	return o, nil
}

func (o *Options) apply(args []string, src source) error {
	opts, nonOpts, rest, dashdash, bad := getopt(args)
	if len(bad) > 0 {
		switch src {
		case fromArgs:
			return fmt.Errorf("unknown option or error during option parsing: %s; aborting", strings.Join(bad, " "))
		case fromEnv:
			o.Warnings = append(o.Warnings, "ignored unknown options in DH_OPTIONS: "+strings.Join(bad, " "))
		}
	}
	if src == fromArgs {
		o.NonOptions = append(o.NonOptions, nonOpts...)
		if dashdash {
			o.HasCommand, o.Command = true, rest
		}
	}
	for _, p := range opts {
		if p.name == "O" {
			// -O<opt>: use the option if it is known, else ignore it. dh
			// passes all its own options to every command this way.
			sub, subNon, _, _, subBad := getopt([]string{p.value})
			if len(subBad) > 0 || len(subNon) > 0 || len(sub) == 0 {
				if src == fromArgs {
					o.Forward = append(o.Forward, p.value)
				}
				continue
			}
			for _, s := range sub {
				if s.name == "O" {
					continue // nested -O-O...: ignore, as debhelper effectively does
				}
				if err := o.set(s, src); err != nil {
					return err
				}
			}
			continue
		}
		if err := o.set(p, src); err != nil {
			return err
		}
	}
	return nil
}

func (o *Options) set(p parsed, src source) error {
	spec := dhOptions[p.name]
	switch spec.canon {
	case "-v":
		o.Verbose = true
	case "--no-act":
		o.NoAct = true
	case "--tmpdir":
		o.Tmpdir = p.value
	case "--help":
		if src == fromArgs {
			return ErrHelp
		}
	}
	if src != fromArgs {
		return nil
	}
	var norm []string
	switch {
	case spec.kind == flagOpt:
		norm = []string{spec.canon}
	case spec.canon == "-V" || spec.canon == "-u":
		// Short-only options keep their value attached.
		norm = []string{spec.canon + p.value}
	default:
		norm = []string{spec.canon + "=" + p.value}
	}
	if spec.canon == "--help" || spec.canon == "--no-act" {
		return nil
	}
	o.Forward = append(o.Forward, norm...)
	if spec.selects {
		o.ListArgs = append(o.ListArgs, norm...)
	}
	return nil
}

// Getenv returns the value of key in env (KEY=VALUE strings), the last
// one winning as with execve.
func Getenv(env []string, key string) string {
	v, _ := LookupEnv(env, key)
	return v
}

// LookupEnv is Getenv that also says whether key is set.
func LookupEnv(env []string, key string) (string, bool) {
	val, found := "", false
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			val, found = v, true
		}
	}
	return val, found
}
