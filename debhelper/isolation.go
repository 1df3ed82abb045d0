package debhelper

// IsolationAdvice says, for a build whose analysis fell back to snapshot
// isolation (serial runs in the real tree), what the usual Debian build
// environments can change to give dh_loupe namespaces isolation. The
// reason itself (from the kernel's point of view) is in the runner's note.
//
// The common case is sbuild's unshare mode: the build runs as an
// unprivileged build user inside a chroot, where the kernel refuses new
// user namespaces; root inside sbuild's user namespace does not need one.
func IsolationAdvice() string {
	return "to get namespaces isolation (parallel runs in private overlays, network and PID namespaces), build as root " +
		"inside the build's chroot: with sbuild's unshare mode, set $build_user = 'root'; in the sbuild configuration " +
		"(loupe rebuild writes it; that root is sbuild's namespace's, a subordinate uid outside); with pbuilder, " +
		"leave BUILDUSERID and BUILDUSERNAME unset"
}
