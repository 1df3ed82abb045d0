package rebuild

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"pault.ag/go/debian/version"
)

// sourceNameRE is Debian Policy §5.6.1: lower-case letters, digits, '+',
// '-' and '.', at least two characters, starting with an alphanumeric. It
// also keeps a name from being an sbuild option ("-x") or a path ("..").
var sourceNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// versionRE is the character set of a Debian version (Policy §5.6.12); the
// structure is checked by version.Parse.
var versionRE = regexp.MustCompile(`^([0-9]+:)?[0-9][A-Za-z0-9.+~:-]*$`)

// specDir returns the directory name spec builds in (under OUT/pkgs), or
// why spec is not a SOURCE: a source package name, name_version, or the
// path of an existing .dsc file named name_version.dsc. The name can never
// be "", "." or "..", nor contain a '/': a package's directory is always a
// direct child of OUT/pkgs.
func specDir(spec string) (string, error) {
	base := spec
	if strings.HasSuffix(spec, ".dsc") {
		fi, err := os.Stat(spec)
		if err != nil {
			return "", fmt.Errorf("source %q: %w", spec, err)
		}
		if !fi.Mode().IsRegular() {
			return "", fmt.Errorf("source %q: not a regular .dsc file", spec)
		}
		base = strings.TrimSuffix(filepath.Base(spec), ".dsc")
	}
	name, ver, hasVer := strings.Cut(base, "_")
	if !sourceNameRE.MatchString(name) {
		return "", fmt.Errorf("source %q: %q is not a Debian source package name (lower-case letters, digits, '+', '-' and '.', "+
			"at least two characters, starting with a letter or digit); give a name, name_version or an existing .dsc file", spec, name)
	}
	if hasVer {
		if _, err := version.Parse(ver); err != nil || !versionRE.MatchString(ver) {
			return "", fmt.Errorf("source %q: %q is not a Debian version (want name_version, e.g. hello_2.10-3)", spec, ver)
		}
	}
	return strings.ReplaceAll(base, ":", "_"), nil
}

// CheckSpecs validates every SOURCE before anything is built or removed:
// each must be a source package name, name_version or an existing .dsc,
// and no two may build in the same directory.
func CheckSpecs(specs []string) error {
	var errs []error
	by := map[string]string{}
	for _, s := range specs {
		d, err := specDir(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if other, ok := by[d]; ok {
			if other == s {
				errs = append(errs, fmt.Errorf("source %q: listed twice", s))
			} else {
				errs = append(errs, fmt.Errorf("sources %q and %q would both build in pkgs/%s; give only one", other, s, d))
			}
			continue
		}
		by[d] = s
	}
	return errors.Join(errs...)
}

// PackageDir is where spec builds under out: OUT/pkgs/<name or
// name_version>. It fails for what CheckSpecs refuses.
func PackageDir(out, spec string) (string, error) {
	d, err := specDir(spec)
	if err != nil {
		return "", err
	}
	return filepath.Join(out, "pkgs", d), nil
}
