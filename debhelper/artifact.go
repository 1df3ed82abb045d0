package debhelper

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"pault.ag/go/debian/version"

	"salsa.debian.org/loupe-team/loupe/internal/atomicfile"
	"salsa.debian.org/loupe-team/loupe/internal/verdict"
)

// Verdict artifacts are registered in debian/files with this section and
// priority, the way dbgsym packages are ("debug optional"). They are for
// local builds, sbuild and archive rebuilds; the archive would reject an
// upload carrying them, which is why they are produced only on request.
const (
	ArtifactSuffix   = ".loupe.yaml"
	ArtifactSection  = "debug"
	ArtifactPriority = "optional"
)

// ArtifactName is the file name of a binary package's verdict:
// <package>_<version without epoch>_<arch>.loupe.yaml, where arch is "all"
// for Architecture: all packages and the host architecture otherwise. The
// shape <pkg>_<ver>_<arch>.<type> is what dpkg-genchanges parses, so the
// file follows its package in -A, -B and -b builds.
func ArtifactName(pkg string, v version.Version, arch string) string {
	return fmt.Sprintf("%s_%s_%s%s", pkg, v.StringWithoutEpoch(), arch, ArtifactSuffix)
}

// WriteArtifact writes a verdict as ../name relative to the source tree
// (dpkg-genchanges' upload directory) and registers it with
// dpkg-distaddfile, so that the .changes lists it and sbuild copies it out.
// It returns the path written.
//
// The directory above the tree is shared with whatever the build runs (the
// test suite included): whatever is already at ../name (a symlink to a
// file of the user's, a fifo) is replaced, never followed or written into.
// If the verdict cannot be written it is kept under the tree's
// debian/.debhelper/loupe/ (or the temporary directory), and the error
// says where.
func WriteArtifact(ctx context.Context, srcDir, name string, f *verdict.File, env []string) (string, error) {
	if strings.ContainsAny(name, "/ ") {
		return "", fmt.Errorf("artifact name %q: must be a plain file name", name)
	}
	out := ArtifactPath(srcDir, name)
	b, err := verdict.Marshal(f)
	if err != nil {
		return "", err
	}
	if err := atomicfile.Replace(out, b, 0o644); err != nil {
		if kept, kerr := atomicfile.Keep(name, b, filepath.Join(srcDir, StateDir)); kerr == nil {
			return "", fmt.Errorf("write verdict: %w; it is kept in %s", err, kept)
		}
		return "", fmt.Errorf("write verdict: %w", err)
	}
	if err := DistAddFile(ctx, srcDir, name, env); err != nil {
		return out, err
	}
	return out, nil
}

// ArtifactPath is where WriteArtifact writes name: in the directory above
// the source tree.
func ArtifactPath(srcDir, name string) string {
	return filepath.Join(filepath.Dir(filepath.Clean(srcDir)), name)
}

// DistAddFile records ../name in debian/files.
func DistAddFile(ctx context.Context, srcDir, name string, env []string) error {
	cmd := exec.CommandContext(ctx, "dpkg-distaddfile", name, ArtifactSection, ArtifactPriority)
	cmd.Dir = srcDir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("dpkg-distaddfile %s: %w: %s", name, err, strings.TrimSpace(out.String()))
	}
	return nil
}
