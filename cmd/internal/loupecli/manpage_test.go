package loupecli

import (
	"os"
	"strings"
	"testing"
)

// TestManPageCoversCLI: loupe(1) is written by hand (doc/man/loupe.pod), so
// this checks that it names every command and every option the CLI has,
// and has the sections a reader looks for.
func TestManPageCoversCLI(t *testing.T) {
	b, err := os.ReadFile("../../../doc/man/loupe.pod")
	if err != nil {
		t.Fatal(err)
	}
	pod := "\n" + string(b)
	for _, sec := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "EXIT STATUS", "EXAMPLES", "FILES", "SEE ALSO"} {
		if !strings.Contains(pod, "\n=head1 "+sec+"\n") {
			t.Errorf("loupe.pod has no %s section", sec)
		}
	}
	for _, c := range New(nil, nil, nil).VisibleCommands() {
		if !strings.Contains(pod, "\n=head2 loupe "+c.Name+"\n") {
			t.Errorf("loupe.pod does not describe loupe %s (=head2 loupe %s)", c.Name, c.Name)
		}
		for _, f := range c.VisibleFlags() {
			n := f.Names()[0]
			if n == "help" {
				continue
			}
			if !strings.Contains(pod, "B<--"+n+">") {
				t.Errorf("loupe.pod does not name loupe %s --%s", c.Name, n)
			}
		}
	}
}
