package debhelper

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLogsCommands(t *testing.T) {
	for _, tc := range []struct {
		compat int
		env    []string
		want   bool
	}{
		{9, nil, true},
		{5, nil, true},
		{10, nil, false},
		{13, nil, false},
		{13, []string{"DH_INTERNAL_OVERRIDE=dh_auto_test"}, true},
		{13, []string{"DH_INTERNAL_OVERRIDE="}, false},
		{13, []string{"DH_INTERNAL_OVERRIDE=0"}, false},
	} {
		if got := LogsCommands(tc.compat, tc.env); got != tc.want {
			t.Errorf("LogsCommands(%d, %q) = %v, want %v", tc.compat, tc.env, got, tc.want)
		}
	}
}

func TestWriteLogAppends(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "debian"), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "debian", "foo.debhelper.log")
	if err := os.WriteFile(log, []byte("dh_auto_build\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteLog(dir, "dh_loupe", []string{"foo", "bar"}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"foo": "dh_auto_build\ndh_loupe\n", "bar": "dh_loupe\n"} {
		b, err := os.ReadFile(filepath.Join(dir, "debian", name+".debhelper.log"))
		if err != nil || string(b) != want {
			t.Errorf("%s log: %q (%v), want %q", name, b, err, want)
		}
	}
	if err := WriteLog(filepath.Join(dir, "missing"), "dh_loupe", []string{"foo"}); err == nil {
		t.Error("WriteLog into a tree without debian/ succeeded")
	}
}
