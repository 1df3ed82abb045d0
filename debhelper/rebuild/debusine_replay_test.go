package rebuild

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// replayServer answers the debusine backend's calls from a recording of a
// real server (testdata/debusine/NAME), with the recorded absolute URLs
// pointed at itself. Unrecorded paths get a 404; a wrong token a 403.
func replayServer(t *testing.T, name string) *httptest.Server {
	dir := filepath.Join("testdata/debusine", name)
	var ts *httptest.Server
	apiRE := regexp.MustCompile(`^/api/1\.0/(work-request|artifact)/(\d+)/$`)
	fileRE := regexp.MustCompile(`^/debusine/loupe/artifact/\d+/download/([^/]+)$`)
	ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Token") != "recorded" || r.Header.Get("X-Debusine-Scope") != "debusine" {
			http.Error(w, `{"title": "Error", "detail": "No token header"}`, http.StatusForbidden)
			return
		}
		if m := apiRE.FindStringSubmatch(r.URL.Path); m != nil {
			b, err := os.ReadFile(filepath.Join(dir, m[1]+"-"+m[2]+".json"))
			if m[1] == "work-request" {
				b, err = os.ReadFile(filepath.Join(dir, "work-request.json"))
				var wr struct{ ID int }
				json.Unmarshal(b, &wr)
				if m[2] != jsonInt(wr.ID) {
					err = os.ErrNotExist
				}
			}
			if err != nil {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(strings.ReplaceAll(string(b), "http://localhost:8421", ts.URL)))
			return
		}
		if m := fileRE.FindStringSubmatch(r.URL.Path); m != nil {
			http.ServeFile(w, r, filepath.Join(dir, "files", m[1]))
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestDebusineReplay follows a recorded work request the way a resumed run
// does (the submission is in OUT/debusine-work-requests.jsonl, the journal
// does not have the package), then checks what lands in the package's
// directory and how Run classifies it.
func TestDebusineReplay(t *testing.T) {
	// The run checks that a .dsc exists; the replay never reads it.
	spec := filepath.Join(t.TempDir(), "hello-loupe_1.0.dsc")
	os.WriteFile(spec, nil, 0o644)
	for _, c := range []struct {
		name, token, mode string
		want              Status
		err               string
	}{
		{name: "built", token: "recorded", mode: "trace", want: Built},
		{name: "no mode asked", token: "recorded", want: Built},
		{name: "other mode", token: "recorded", mode: "analyze", err: "ran with loupe=trace, not analyze"},
		{name: "bad token", token: "wrong", mode: "trace", err: "403 Forbidden: {\"title\": \"Error\", \"detail\": \"No token header\"} (check the token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := replayServer(t, "built")
			out := t.TempDir()
			sub, _ := json.Marshal(submission{Spec: spec, SourceArtifact: 4, WorkRequest: 3, Submitted: time.Now()})
			os.WriteFile(filepath.Join(out, SubmissionsName), append(sub, '\n'), 0o644)
			d := &Debusine{Server: DebusineServer{Name: "replay", APIURL: ts.URL + "/api", Scope: "debusine", Token: c.token},
				Workspace: "loupe", Environment: "2", Mode: c.mode, Poll: time.Millisecond, Out: out, CLI: []string{"false"}}
			if err := d.Open(); err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			res, err := Run(context.Background(), d, []string{spec}, Options{Out: out})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want it to contain %q", err, c.err)
				}
				if _, ok := mustJournal(t, out)[spec]; ok {
					t.Error("a package whose backend failed was journaled")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := res[0]
			if r.Status != c.want || r.Changes == "" || len(r.Binaries) != 1 || r.Binaries[0].Package != "hello-loupe" ||
				r.Binaries[0].Mode != "trace" || r.Binaries[0].Syscalls == 0 {
				t.Errorf("result %+v", r)
			}
			var names []string
			ents, _ := os.ReadDir(r.Dir)
			for _, e := range ents {
				names = append(names, e.Name())
			}
			want := "hello-loupe_1.0_amd64-2026-11-29T09:24:56Z.build hello-loupe_1.0_amd64.buildinfo " +
				"hello-loupe_1.0_amd64.changes hello-loupe_1.0_amd64.loupe.yaml sbuild.out"
			if strings.Join(names, " ") != want {
				t.Errorf("package directory has %v\nwant %s (no .debs, no debug logs)", names, want)
			}
			log, _ := os.ReadFile(filepath.Join(r.Dir, "sbuild.out"))
			if !strings.Contains(string(log), "following work request 3") || !strings.Contains(string(log), "completed success") {
				t.Errorf("console output:\n%s", log)
			}
			if _, ok := mustJournal(t, out)[spec]; !ok {
				t.Error("not journaled")
			}
		})
	}
}

func mustJournal(t *testing.T, out string) map[string]Result {
	j, err := ReadJournal(out)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
