package located

import "fmt"

// Error is a problem at a place in a file. It is also a record: loupe db
// keeps the inputs it skipped, with why, as these (JSON keys file, line,
// field, message).
type Error struct {
	File  string `json:"file"`
	Line  int    `json:"line,omitempty"`  // 1-based; 0 when unknown
	Field string `json:"field,omitempty"` // dotted path, e.g. binaries[0].syscalls[3].stub; "" for the file
	Msg   string `json:"message"`
}

func (e Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: field %s: %s", loc, e.Field, e.Msg)
	}
	return loc + ": " + e.Msg
}

func (e Error) String() string { return e.Error() }
