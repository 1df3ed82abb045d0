package dhloupe

// defaultDeps wires the real tracer and analysis engine.
func defaultDeps() Deps {
	return Deps{}
}
