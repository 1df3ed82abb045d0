package version

// Version is set at build time with -ldflags "-X .../internal/version.Version=..."
// by debian/rules; the default matches the latest debian/changelog entry.
var Version = "0.2.0"
