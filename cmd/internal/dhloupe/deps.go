package dhloupe

import "salsa.debian.org/loupe-team/loupe/tracer"

// defaultDeps wires the real tracer and analysis engine.
func defaultDeps() Deps {
	return Deps{Trace: tracer.Run}
}
