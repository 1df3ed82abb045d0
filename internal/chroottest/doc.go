// Package chroottest runs a test binary inside a minimal chroot, the way
// sbuild, pbuilder and plain chroots run builds: a plain directory whose
// root is not a mount point, with /usr and /etc bind-mounted from the host
// (merged /usr: bin, sbin and lib are symlinks), a /proc, the host's /dev,
// and empty /tmp, /var/tmp and /root.
//
// Everything is set up in a mount namespace of its own (unshare -m), so
// nothing leaks to the machine. Inside it, the directory holding the chroot
// is a shared mount, and the chroot runs in a further mount namespace whose
// copy of it is a peer (unshare --propagation unchanged): a mount made
// inside the chroot that is not kept private shows up in the outer
// namespace, as it would on a host whose mounts are shared (systemd's
// default). Run reports such leaks.
//
// Run needs root, or a user namespace in which to be root (then only uid 0
// runs are possible); it skips, saying so, where neither can be had.
package chroottest
