package exitstatus

import (
	"encoding/json"
	"syscall"
	"testing"
)

func TestStatus(t *testing.T) {
	for _, tt := range []struct {
		s         Status
		str, json string
		shell     int
		success   bool
		record    string
	}{
		{Status{}, "exit 0", `{"code":0}`, 0, true, "exit 0"},
		{Status{Code: 2}, "exit 2", `{"code":2}`, 2, false, "exit 2"},
		{Status{Signal: syscall.SIGSEGV, CoreDumped: true}, "killed by signal 11 (segmentation fault)",
			`{"code":0,"signal":11,"core_dumped":true}`, 139, false, "killed by signal 11 (segmentation fault)"},
		{Status{Signal: syscall.SIGKILL}, "killed by signal 9 (killed)", `{"code":0,"signal":9}`, 137, false, "killed by signal 9 (killed)"},
	} {
		if got := tt.s.String(); got != tt.str {
			t.Errorf("%+v: String %q, want %q", tt.s, got, tt.str)
		}
		if b, _ := json.Marshal(tt.s); string(b) != tt.json {
			t.Errorf("%+v: JSON %s, want %s", tt.s, b, tt.json)
		}
		var back Status
		if json.Unmarshal([]byte(tt.json), &back); back != tt.s {
			t.Errorf("%s: read back as %+v", tt.json, back)
		}
		if tt.s.ShellCode() != tt.shell || tt.s.Success() != tt.success {
			t.Errorf("%+v: ShellCode %d Success %v", tt.s, tt.s.ShellCode(), tt.s.Success())
		}
		r := tt.s.Record()
		if r.String() != tt.record || r.Success() != tt.success || r.Code != tt.shell {
			t.Errorf("%+v: Record %+v says %q", tt.s, r, r.String())
		}
	}
}
