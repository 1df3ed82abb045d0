package loupecli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"salsa.debian.org/loupe-team/loupe/internal/datadir"
	"salsa.debian.org/loupe-team/loupe/internal/testutil"
)

// TestBashCompletion runs the generated completion script in bash, alone
// and under the bash-completion package, on the command lines a user
// types: commands, options, option values, and the workload command after
// "--".
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash: %v", err)
	}
	t.Setenv(datadir.Env, filepath.Dir(testutil.LoupeDB(t)))
	script, stderr, code := run(t, "completion", "bash")
	if code != 0 {
		t.Fatalf("loupe completion bash: exit %d %s", code, stderr)
	}
	dir := t.TempDir()
	sf := filepath.Join(dir, "loupe.bash")
	os.WriteFile(sf, []byte(script), 0o644)
	work := filepath.Join(dir, "work")
	os.MkdirAll(filepath.Join(work, "subdir"), 0o755)
	os.WriteFile(filepath.Join(work, "Kerla.syscalls"), nil, 0o644)

	tests := []struct {
		line    string
		want    []string // all of them
		exactly bool     // and nothing else
	}{
		{line: "loupe an", want: []string{"analyze"}, exactly: true},
		{line: "loupe ", want: []string{"trace", "analyze", "db", "plan", "simulate", "report", "rebuild", "help"}, exactly: true},
		{line: "loupe analyze --metric-better ", want: []string{"higher", "lower"}, exactly: true},
		{line: "loupe simulate --os Kerla --binary ./x -- ec", want: []string{"echo"}},
		{line: "loupe help pl", want: []string{"plan"}, exactly: true},
		{line: "loupe plan --wo", want: []string{"--workload"}, exactly: true},
		{line: "loupe plan --workload ", want: []string{"any", "bench", "suite"}, exactly: true},
		{line: "loupe analyze --workload ", want: []string{"bench", "suite"}, exactly: true},
		{line: "loupe simulate --workload ", want: []string{"any", "bench", "suite"}, exactly: true},
		{line: "loupe analyze --granularity f", want: []string{"features"}, exactly: true},
		{line: "loupe trace --stub getrl", want: []string{"getrlimit"}, exactly: true},
		{line: "loupe analyze --app", want: []string{"--app"}, exactly: true},
		{line: "loupe analyze --replicas ", exactly: true},
		{line: "loupe db --loupedb ", want: []string{"subdir"}, exactly: true},
		{line: "loupe plan --os Ke", want: []string{"Kerla.syscalls", "Kerla"}, exactly: true},
		{line: "loupe report --os Os", want: []string{"Osv"}, exactly: true},
		{line: "loupe trace -- ech", want: []string{"echo"}},
		{line: "loupe analyze -b x -r 1 ech", want: []string{"echo"}},
		{line: "loupe analyze --binary=x ech", want: []string{"echo"}},
	}
	withBC := "/usr/share/bash-completion/bash_completion"
	for _, mode := range []string{"alone", "bash-completion"} {
		prelude := ""
		if mode == "bash-completion" {
			if _, err := os.Stat(withBC); err != nil {
				t.Logf("skipping the bash-completion variant: %s is absent (scripts/install-deps installs bash-completion)", withBC)
				continue
			}
			prelude = "source " + withBC + "\n"
		}
		for _, tt := range tests {
			t.Run(mode+"/"+tt.line, func(t *testing.T) {
				prog := prelude + `source "$1"
read -ra COMP_WORDS <<<"$2"
[[ $2 == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE=$2
COMP_POINT=${#COMP_LINE}
_loupe
printf '%s\n' "${COMPREPLY[@]}"
`
				cmd := exec.Command(bash, "--norc", "--noprofile", "-c", prog, "bash", sf, tt.line)
				cmd.Dir = work
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				got := map[string]bool{}
				for _, w := range strings.Fields(string(out)) {
					got[strings.TrimSuffix(w, "/")] = true
				}
				for _, w := range tt.want {
					if !got[w] {
						t.Errorf("%q: completions %q lack %q", tt.line, out, w)
					}
				}
				if tt.exactly && len(got) != len(tt.want) {
					t.Errorf("%q: completions %q, want exactly %q", tt.line, out, tt.want)
				}
			})
		}
	}
}
