package yamlenc

import "testing"

func TestMarshal(t *testing.T) {
	type doc struct {
		Schema string   `yaml:"schema"`
		List   []string `yaml:"list"`
		Map    struct {
			Key int `yaml:"key"`
		} `yaml:"map"`
	}
	d := doc{Schema: "loupe/x/v1", List: []string{"a", "b"}}
	d.Map.Key = 3
	b, err := Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if want := "schema: loupe/x/v1\nlist:\n  - a\n  - b\nmap:\n  key: 3\n"; string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
}
