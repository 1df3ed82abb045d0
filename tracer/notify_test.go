package tracer

import (
	"fmt"
	"testing"
)

func followNotify(_ *Command, o *Options) { o.Follow = FollowNotify }

func TestNotifyBasics(t *testing.T) {
	fx := fixture(t)
	script := fmt.Sprintf("ls / >/dev/null; '%s' sysinfo; /bin/true; exit 3", fx)
	res := run(t, []string{"/bin/sh", "-c", script}, whitelist(fx), followNotify)
	t.Logf("follow=%s note=%q exit=%v procs=%d execs=%d stops=%d warn=%v", res.Follow, res.FollowNote, res.Exit, res.Processes, res.Execs, res.Stops, res.Warnings)
	if res.Follow != FollowNotify {
		t.Fatalf("follow %s (%s)", res.Follow, res.FollowNote)
	}
	if res.Exit.Code != 3 {
		t.Fatalf("exit %v", res.Exit)
	}
	if calls(binOf(res, fx), "sysinfo") != 1 {
		t.Fatalf("binaries %v", names(res))
	}
}
