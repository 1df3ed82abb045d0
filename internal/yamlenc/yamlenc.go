// Package yamlenc is how loupe writes YAML: every file it writes in YAML
// (verdicts, trace files, simulation reports, plans) is indented the same
// way, two spaces, so that they diff and read alike.
package yamlenc

import (
	"bytes"

	"gopkg.in/yaml.v3"
)

// Marshal encodes v as one YAML document, indented two spaces.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
