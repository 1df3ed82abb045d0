package rebuild

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"salsa.debian.org/loupe-team/loupe/internal/atomicfile"
	"salsa.debian.org/loupe-team/loupe/internal/journal"
	"salsa.debian.org/loupe-team/loupe/internal/located"
)

// Debusine builds on a debusine server (0.11): each .dsc is uploaded as a
// debian:source-package artifact (with the debusine client,
// import-debian-artifact), built by an sbuild work request in an
// environment where dh-loupe is installed and enabled (see
// doc/debusine.md: the environment, not the work request, carries loupe,
// because debusine 0.11's sbuild task passes no environment variables and
// no extra build dependencies), and followed to completion over the REST
// API. Its build log, .changes, .buildinfo and the verdicts the .changes
// lists are downloaded into the package's directory, the same layout the
// sbuild backend leaves, so Inspect, the journal and loupe db work
// unchanged. The .debs stay on the server.
//
// Work in flight survives the driver: each submission is appended to
// Out/debusine-work-requests.jsonl before it is followed, and a later run
// follows that work request instead of submitting the package again,
// unless the journal already has the package (then --retry-failed asked
// for a new build).
type Debusine struct {
	Server      DebusineServer
	Workspace   string
	Environment string // lookup or artifact id of the loupe environment
	Arch        string // host_architecture; default amd64
	Mode        string // if set, the environment must enable this loupe mode
	Poll        time.Duration
	CLI         []string // the debusine client and its global options, for uploads
	Out         string   // rebuild output directory (submissions file)
	HTTP        *http.Client

	mu      sync.Mutex
	subsJ   *journal.Journal      // the submissions file, open from Open to Close
	subs    map[string]submission // last submission per spec
	journal map[string]bool       // specs the journal had when Open ran
}

// DebusineServer is one [server:NAME] section of the debusine client's
// configuration file.
type DebusineServer struct {
	Name   string
	APIURL string // e.g. http://localhost:8421/api
	Scope  string
	Token  string
}

// SubmissionsName is the file, in the output directory, that records the
// work request of each package submitted to debusine.
const SubmissionsName = "debusine-work-requests.jsonl"

type submission struct {
	Spec           string    `json:"spec"`
	SourceArtifact int       `json:"source_artifact"`
	WorkRequest    int       `json:"work_request"`
	Submitted      time.Time `json:"submitted"`
}

// LoadDebusineConfig reads the debusine client's config.ini and returns
// server (a section name, an api-url, or "" for [General] default-server).
func LoadDebusineConfig(path, server string) (DebusineServer, error) {
	f, err := os.Open(path)
	if err != nil {
		return DebusineServer{}, fmt.Errorf("debusine client config: %w (create it with debusine setup, or scripts/debusine-local)", err)
	}
	defer f.Close()
	sections := map[string]map[string]string{}
	var order []string
	cur := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			cur = strings.TrimSpace(l[1 : len(l)-1])
			if sections[cur] == nil {
				sections[cur] = map[string]string{}
				order = append(order, cur)
			}
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok || cur == "" {
				return DebusineServer{}, &located.Error{File: path, Line: n, Msg: fmt.Sprintf("want key = value inside a [section], got %q", l)}
			}
			sections[cur][strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return DebusineServer{}, fmt.Errorf("read %s: %w", path, err)
	}
	if server == "" {
		server = sections["General"]["default-server"]
		if server == "" {
			return DebusineServer{}, fmt.Errorf("%s: no [General] default-server: name the server with --server", path)
		}
	}
	var names []string
	for _, s := range order {
		name, ok := strings.CutPrefix(s, "server:")
		if !ok {
			continue
		}
		names = append(names, name)
		kv := sections[s]
		if name != server && strings.TrimRight(kv["api-url"], "/") != strings.TrimRight(server, "/") {
			continue
		}
		ds := DebusineServer{Name: name, APIURL: strings.TrimRight(kv["api-url"], "/"), Scope: kv["scope"], Token: kv["token"]}
		for k, v := range map[string]string{"api-url": ds.APIURL, "scope": ds.Scope, "token": ds.Token} {
			if v == "" {
				return DebusineServer{}, fmt.Errorf("%s: [%s] has no %s", path, s, k)
			}
		}
		return ds, nil
	}
	return DebusineServer{}, fmt.Errorf("%s: no [server:%s] (servers: %s)", path, server, strings.Join(names, ", "))
}

// Open loads what earlier runs left in d.Out: the submissions and the
// journal's finished packages. Call it once before Run, and Close after.
func (d *Debusine) Open() error {
	d.journal = map[string]bool{}
	done, err := ReadJournal(d.Out)
	if err != nil {
		return err
	}
	for s := range done {
		d.journal[s] = true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.openSubmissions()
}

// openSubmissions opens the submissions file, an internal/journal: a torn
// last line is cut off, and that package is submitted again.
// Precondition: d.mu is held.
func (d *Debusine) openSubmissions() error {
	if d.subsJ != nil {
		return nil
	}
	d.subs = map[string]submission{}
	j, err := journal.Open(filepath.Join(d.Out, SubmissionsName), func(line []byte) error {
		var s submission
		if err := json.Unmarshal(line, &s); err != nil {
			return err
		}
		if s.Spec == "" || s.WorkRequest <= 0 {
			return errors.New("no spec or work request")
		}
		d.subs[s.Spec] = s
		return nil
	})
	if err != nil {
		return fmt.Errorf("debusine submissions: %w", err)
	}
	d.subsJ = j
	return nil
}

// Close releases the submissions file.
func (d *Debusine) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.subsJ.Close()
	d.subsJ = nil
	return err
}

// Check reports what is missing to run, with what to do about it.
func (d *Debusine) Check(ctx context.Context) error {
	if d.Workspace == "" || d.Environment == "" {
		return errors.New("debusine: --workspace and --environment are needed (scripts/debusine-local prints them)")
	}
	if len(d.CLI) == 0 {
		return errors.New("debusine: no client command")
	}
	if _, err := exec.LookPath(d.CLI[0]); err != nil {
		return fmt.Errorf("debusine: %s not found: install debusine-client (bookworm-backports)", d.CLI[0])
	}
	// One cheap authenticated call: a bad URL or token fails here, not
	// after the first upload.
	var page struct {
		Results []json.RawMessage `json:"results"`
	}
	if err := d.api(ctx, http.MethodGet, "/1.0/work-request/?limit=1", nil, &page); err != nil {
		return fmt.Errorf("debusine: %w", err)
	}
	return nil
}

// Build submits spec (a .dsc) unless a run before this one did, follows
// its work request and downloads the results into dir. A build that ran
// and failed returns an error wrapping ErrBuildFailed.
func (d *Debusine) Build(ctx context.Context, spec, dir string, out io.Writer) error {
	if !strings.HasSuffix(spec, ".dsc") {
		return fmt.Errorf("debusine backend: %s: give a .dsc file (debusine builds uploaded source packages; fetch one with dget or apt-get source --download-only)", spec)
	}
	wr, err := d.submitted(ctx, spec, out)
	if err != nil {
		return err
	}
	res, err := d.follow(ctx, wr, out)
	if err != nil {
		return err
	}
	if err := d.download(ctx, res, dir, out); err != nil {
		return err
	}
	if d.Mode != "" {
		if got := environmentMode(dir); got != "" && got != d.Mode {
			return fmt.Errorf("debusine: work request %d ran with loupe=%s, not %s: environment %s enables another mode (scripts/debusine-local env %s makes one)", wr, got, d.Mode, d.Environment, d.Mode)
		}
	}
	if res.Result != "success" {
		return fmt.Errorf("debusine work request %d: %w (%s)", wr, ErrBuildFailed, res.Result)
	}
	return nil
}

// submitted returns the work request building spec: the one an earlier,
// interrupted run submitted, or a new one.
func (d *Debusine) submitted(ctx context.Context, spec string, out io.Writer) (int, error) {
	d.mu.Lock()
	s, ok := d.subs[spec]
	done := d.journal[spec]
	d.mu.Unlock()
	if ok && !done {
		fmt.Fprintf(out, "debusine: following work request %d, submitted %s by an earlier run\n", s.WorkRequest, s.Submitted.Format(time.RFC3339))
		return s.WorkRequest, nil
	}
	abs, err := filepath.Abs(spec)
	if err != nil {
		return 0, err
	}
	art, err := d.upload(ctx, abs, out)
	if err != nil {
		return 0, err
	}
	task := map[string]any{
		"input":             map[string]any{"source_artifact": art},
		"host_architecture": d.arch(),
		"build_components":  []string{"any", "all"},
		"environment":       lookup(d.Environment),
		"backend":           "unshare",
	}
	req := map[string]any{"task_name": "sbuild", "workspace": d.Workspace, "task_data": task, "event_reactions": map[string]any{}}
	var created struct {
		ID int `json:"id"`
	}
	if err := d.api(ctx, http.MethodPost, "/1.0/work-request/", req, &created); err != nil {
		return 0, fmt.Errorf("debusine: submit %s: %w", spec, err)
	}
	s = submission{Spec: spec, SourceArtifact: art, WorkRequest: created.ID, Submitted: time.Now().UTC().Round(time.Second)}
	if err := d.record(s); err != nil {
		return 0, err
	}
	fmt.Fprintf(out, "debusine: %s is artifact %d, built by work request %d\n", filepath.Base(spec), art, created.ID)
	return created.ID, nil
}

func (d *Debusine) arch() string {
	if d.Arch == "" {
		return "amd64"
	}
	return d.Arch
}

// lookup turns an environment given on the command line into a debusine
// single lookup: an artifact id is a number, anything else a string.
func lookup(s string) any {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return s
}

func (d *Debusine) record(s submission) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.openSubmissions(); err != nil {
		return err
	}
	if err := d.subsJ.Append(s); err != nil {
		return fmt.Errorf("debusine submissions: %w", err)
	}
	d.subs[s.Spec] = s
	return nil
}

// upload imports the source package with the debusine client, which knows
// how to create the artifact and upload each file of the .dsc.
func (d *Debusine) upload(ctx context.Context, dsc string, out io.Writer) (int, error) {
	args := append(append([]string{}, d.CLI[1:]...), "import-debian-artifact", "--workspace", d.Workspace, dsc)
	cmd := exec.CommandContext(ctx, d.CLI[0], args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("debusine import-debian-artifact %s: %w: %s", dsc, err, strings.TrimSpace(stderr.String()))
	}
	var r struct {
		ArtifactID int `yaml:"artifact_id"`
	}
	if err := yaml.Unmarshal(b, &r); err != nil || r.ArtifactID == 0 {
		return 0, fmt.Errorf("debusine import-debian-artifact %s: no artifact_id in its output %q", dsc, b)
	}
	return r.ArtifactID, nil
}

type workRequest struct {
	ID        int      `json:"id"`
	Status    string   `json:"status"`
	Result    string   `json:"result"`
	Worker    *int     `json:"worker"`
	Artifacts []int    `json:"artifacts"`
	Duration  *float64 `json:"duration"`
}

// follow polls the work request until it is completed or aborted.
func (d *Debusine) follow(ctx context.Context, id int, out io.Writer) (workRequest, error) {
	poll := d.Poll
	if poll <= 0 {
		poll = 10 * time.Second
	}
	last := ""
	fails := 0
	for {
		var wr workRequest
		err := d.api(ctx, http.MethodGet, fmt.Sprintf("/1.0/work-request/%d/", id), nil, &wr)
		if err != nil {
			if ctx.Err() != nil {
				return wr, ctx.Err()
			}
			// A server restart or a network hiccup must not lose a build
			// that may take hours: retry a while before giving up.
			if fails++; fails > 30 {
				return wr, fmt.Errorf("debusine: follow work request %d: %w", id, err)
			}
		} else {
			fails = 0
			if st := wr.Status + " " + wr.Result; st != last {
				last = st
				took := ""
				if wr.Duration != nil {
					took = fmt.Sprintf(" (%.0f s on the worker)", *wr.Duration)
				}
				fmt.Fprintf(out, "debusine: work request %d: %s %s%s\n", id, wr.Status, wr.Result, took)
			}
			switch wr.Status {
			case "completed", "aborted":
				if wr.Status == "aborted" && wr.Result == "" {
					wr.Result = "aborted"
				}
				return wr, nil
			}
		}
		select {
		case <-ctx.Done():
			return wr, ctx.Err()
		case <-time.After(poll):
		}
	}
}

type artifact struct {
	ID       int                   `json:"id"`
	Category string                `json:"category"`
	Files    map[string]remoteFile `json:"files"`
}

type remoteFile struct {
	Size int64  `json:"size"`
	URL  string `json:"url"`
}

// wanted says which files of an artifact the rebuild keeps: the build
// log, and of the upload only what Inspect and loupe db read (the .debs
// stay on the server). Debug logs are kept only when there is no build log.
func wanted(category, name string) bool {
	switch category {
	case "debian:package-build-log":
		return true
	case "debian:upload":
		return strings.HasSuffix(name, ".changes") || strings.HasSuffix(name, ".buildinfo") || strings.HasSuffix(name, ".loupe.yaml")
	}
	return false
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9][-+.:_~A-Za-z0-9]*$`)

func (d *Debusine) download(ctx context.Context, wr workRequest, dir string, out io.Writer) error {
	var arts []artifact
	for _, id := range wr.Artifacts {
		var a artifact
		if err := d.api(ctx, http.MethodGet, fmt.Sprintf("/1.0/artifact/%d/", id), nil, &a); err != nil {
			return fmt.Errorf("debusine: artifact %d of work request %d: %w", id, wr.ID, err)
		}
		arts = append(arts, a)
	}
	haveLog := false
	for _, a := range arts {
		haveLog = haveLog || a.Category == "debian:package-build-log"
	}
	for _, a := range arts {
		names := make([]string, 0, len(a.Files))
		for n := range a.Files {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			debug := a.Category == "debusine:work-request-debug-logs" && !haveLog
			if !wanted(a.Category, n) && !debug {
				continue
			}
			// The names come from the server: never let one leave dir.
			if !safeName.MatchString(n) {
				return fmt.Errorf("debusine: artifact %d: refusing file name %q", a.ID, n)
			}
			if debug {
				// No build log (the task failed before sbuild ran): its
				// debug logs say why, in the console output Inspect reads.
				var buf bytes.Buffer
				if err := d.get(ctx, a.Files[n].URL, &buf); err != nil {
					return err
				}
				fmt.Fprintf(out, "E: debusine work request %d: %s: %s\n", wr.ID, wr.Result, n)
				out.Write(buf.Bytes())
				continue
			}
			if err := d.fetchFile(ctx, a.Files[n].URL, filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("debusine: artifact %d: %w", a.ID, err)
			}
		}
	}
	return nil
}

// fetchFile downloads url to path atomically.
func (d *Debusine) fetchFile(ctx context.Context, url, path string) error {
	return atomicfile.ReplaceFrom(path, 0o644, func(w io.Writer) error { return d.get(ctx, url, w) })
}

// get streams the file at u (an absolute URL the server gave) to w.
func (d *Debusine) get(ctx context.Context, u string, w io.Writer) error {
	if _, err := url.Parse(u); err != nil {
		return fmt.Errorf("file url %q: %w", u, err)
	}
	return d.do(ctx, http.MethodGet, u, nil, w)
}

// api calls the REST API at path (below api-url) with a JSON body and
// decodes the JSON answer into v.
func (d *Debusine) api(ctx context.Context, method, path string, in, v any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	u := d.Server.APIURL + path
	var answer bytes.Buffer
	if err := d.do(ctx, method, u, body, &answer); err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(answer.Bytes(), v); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, u, err)
	}
	return nil
}

// do sends one authenticated request and copies a 2xx answer's body to w;
// any other answer is an error that quotes the server's reason.
func (d *Debusine) do(ctx context.Context, method, u string, body io.Reader, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Token", d.Server.Token)
	req.Header.Set("X-Debusine-Scope", d.Server.Scope)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := d.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		msg := strings.TrimSpace(string(b))
		hint := ""
		if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized {
			hint = " (check the token in the debusine client config and the workspace permissions)"
		}
		return fmt.Errorf("%s %s: %s: %s%s", method, u, resp.Status, msg, hint)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("%s %s: %w", method, u, err)
	}
	return nil
}

var envModeRE = regexp.MustCompile(`(?m)^loupe environment: .*\bloupe=(\w+)`)

// environmentMode reads the loupe mode the environment's
// dpkg-buildpackage wrapper announced in the build log ("" if none).
func environmentMode(dir string) string {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.build"))
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		if m := envModeRE.FindSubmatch(b); m != nil {
			return string(m[1])
		}
	}
	return ""
}
