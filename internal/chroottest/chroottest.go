package chroottest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// Nobody is the unprivileged uid and gid runs use.
const Nobody = 65534

// Result is what a run inside the chroot left.
type Result struct {
	Output string
	Err    error // the command's exit error, if any
	// Leaked lists the mounts that appeared in the outer namespace during
	// the run: each is a mount made inside the chroot that propagated out.
	Leaked []string
}

// Spec says how to run the test binary in the chroot.
type Spec struct {
	// UID is 0 or Nobody.
	UID int
	// Env is added to a minimal environment (PATH, HOME=/root, TMPDIR=/tmp).
	Env []string
	// Dirs are directories, relative to the test's working directory (the
	// package's), copied into the chroot at the same place relative to the
	// working directory there (under /src), e.g. "testdata" or
	// "../testdata/fixtures".
	Dirs []string
	// Files maps host files to absolute paths in the chroot (a binary the
	// test runs, say).
	Files map[string]string
	// UserNS builds and runs the chroot as root in a user namespace, as
	// sbuild's unshare mode does when its build user is root. It is implied
	// when the test does not run as root.
	UserNS bool
}

// Run copies the test binary into a fresh chroot and runs it there with
// args, e.g. "-test.run=^TestX$", "-test.v".
func Run(t *testing.T, spec Spec, args ...string) Result {
	t.Helper()
	// Not root, the chroot is built as root in a user namespace of our
	// own: the situation of root inside sbuild's user namespace.
	unshare := []string{"-m"}
	if os.Geteuid() != 0 || spec.UserNS {
		if spec.UID != 0 {
			t.Skip("a chroot run as another user needs root (only our own uid is mapped in a user namespace)")
		}
		unshare = []string{"-r", "-m"}
	}
	if out, err := exec.Command("unshare", append(unshare, "true")...).CombinedOutput(); err != nil {
		t.Skipf("namespaces cannot be created here, so no chroot can be built: unshare %v: %v %s", unshare, err, out)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	user := "0:0"
	if spec.UID != 0 {
		user = fmt.Sprintf("%d:%d", spec.UID, spec.UID)
	}
	envArgs := []string{"PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "TMPDIR=/tmp",
		insideEnv + "=1"}
	envArgs = append(envArgs, spec.Env...)
	// The working directory is deep enough for every "../" of Dirs to stay
	// under /src.
	up := 0
	for _, d := range spec.Dirs {
		up = max(up, strings.Count(filepath.Clean(d), ".."))
	}
	wd := "/src/" + strings.Repeat("d/", up) + "pkg"
	var copies []string
	for _, d := range spec.Dirs {
		copies = append(copies, d, filepath.Join(wd, d))
	}
	for from, to := range spec.Files {
		copies = append(copies, from, to)
	}
	argv := append(unshare, "--propagation", "private", "sh", "-c", script, "chroottest", base, self, user, wd,
		strings.Join(copies, "\n"))
	argv = append(append(append(argv, envArgs...), "--"), args...)
	cmd := exec.Command("unshare", argv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	res := Result{Err: err}
	s := out.String()
	if i := strings.LastIndex(s, leakMarker); i >= 0 {
		for _, l := range strings.Split(strings.TrimSpace(s[i+len(leakMarker):]), "\n") {
			if l != "" {
				res.Leaked = append(res.Leaked, l)
			}
		}
		s = s[:i]
	}
	res.Output = s
	return res
}

const leakMarker = "\n== chroottest: mounts leaked out of the chroot ==\n"

// script runs in the outer mount namespace: $1 base, $2 test binary, $3
// uid:gid, $4 the working directory, $5 what to copy (source and
// destination, one a line), then the environment up to "--", then the
// test's arguments.
const script = `set -eu
base=$1 bin=$2 user=$3 wd=$4 copies=$5; shift 5
env=""
while [ "$1" != -- ]; do env="$env $1"; shift; done; shift
mount -t tmpfs -o mode=755 chroottest "$base"
mount --make-shared "$base"
r=$base/root
mkdir -p "$r/usr" "$r/etc" "$r/proc" "$r/dev" "$r/tmp" "$r/var/tmp" "$r/root" "$r/run"
chmod 1777 "$r/tmp" "$r/var/tmp"
for d in bin sbin lib lib32 lib64 libx32; do
	if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$r/$d"; fi
done
mount --rbind /usr "$r/usr"
mount --rbind /etc "$r/etc"
# A /proc of our own where we may (real root), else the one we have.
mount -t proc proc "$r/proc" 2>/dev/null || mount --rbind /proc "$r/proc"
mount --rbind /dev "$r/dev"
mkdir -p "$r$wd"
cp "$bin" "$r/src/test.bin"
printf '%s\n' "$copies" | while read -r from && read -r to; do
	[ -n "$from" ] || continue
	mkdir -p "$(dirname "$r$to")"
	if [ -d "$from" ]; then
		mkdir -p "$r$to"
		cp -a "$from/." "$r$to/"
	else
		cp -a "$from" "$r$to"
	fi
done
chmod -R a+rX "$r/src"
before=$(awk -v b="$base" 'index($5, b) == 1 {print $5}' /proc/self/mountinfo | sort)
set +e
# shellcheck disable=SC2086
if [ "$user" = 0:0 ]; then
	# Root keeps its ids: in a user namespace it may not even set its groups.
	unshare -m --propagation unchanged chroot "$r" /usr/bin/env -i -C "$wd" $env /src/test.bin "$@"
else
	unshare -m --propagation unchanged chroot --userspec="$user" "$r" /usr/bin/env -i -C "$wd" $env /src/test.bin "$@"
fi
rc=$?
after=$(awk -v b="$base" 'index($5, b) == 1 {print $5}' /proc/self/mountinfo | sort)
printf '\n== chroottest: mounts leaked out of the chroot ==\n'
printf '%s\n' "$after" | grep -vxF -e "$before" || true
exit $rc
`

var resultRE = regexp.MustCompile(`(?m)^\s*--- (PASS|FAIL|SKIP): (\S+)`)

// Outcomes maps each test (and subtest) reported in a -test.v output to
// PASS, FAIL or SKIP.
func Outcomes(output string) map[string]string {
	m := map[string]string{}
	for _, g := range resultRE.FindAllStringSubmatch(output, -1) {
		m[g[2]] = g[1]
	}
	return m
}

// RequirePassed fails t unless each named test passed in output (a skip
// inside the chroot is a failure: the chroot is where it must run).
func RequirePassed(t *testing.T, res Result, names ...string) {
	t.Helper()
	got := Outcomes(res.Output)
	var bad []string
	for _, n := range names {
		if got[n] != "PASS" {
			bad = append(bad, fmt.Sprintf("%s: %q", n, got[n]))
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Errorf("inside the chroot: %s\n%s", strings.Join(bad, ", "), tail(res.Output, 60))
	}
	if len(res.Leaked) > 0 {
		t.Errorf("mounts made inside the chroot propagated out of it: %v", res.Leaked)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Inside reports whether the test runs in a chroot made by Run.
func Inside() bool { return os.Getenv(insideEnv) != "" }

const insideEnv = "LOUPE_CHROOTTEST"
