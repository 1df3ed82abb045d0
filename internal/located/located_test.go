package located

import (
	"errors"
	"fmt"
	"testing"
)

func TestError(t *testing.T) {
	for _, tt := range []struct {
		e    Error
		want string
	}{
		{Error{File: "f.yaml", Msg: "empty"}, "f.yaml: empty"},
		{Error{File: "f.yaml", Line: 3, Msg: "bad"}, "f.yaml:3: bad"},
		{Error{File: "f.yaml", Field: "a.b", Msg: "bad"}, "f.yaml: field a.b: bad"},
		{Error{File: "f.yaml", Line: 3, Field: "a[0]", Msg: "bad"}, "f.yaml:3: field a[0]: bad"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%#v: %q, want %q", tt.e, got, tt.want)
		}
	}
	var e *Error
	if !errors.As(fmt.Errorf("read: %w", &Error{File: "f", Line: 2}), &e) || e.Line != 2 {
		t.Errorf("errors.As through a wrap: %v", e)
	}
}
