// Package report renders a dataset as one self-contained HTML page: inline
// SVG figures, inline CSS, no script and nothing fetched from the network,
// so the page can be mailed, archived or opened from a build artifact.
//
// Figures (after the paper's):
//   - the effort curve (Fig. 2): applications supported vs syscalls
//     implemented, following loupe's plan and the naive plan that implements
//     everything traced, from the same OS state; steps labelled with the
//     syscalls they implement where a label fits;
//   - API importance (Fig. 3): for each syscall, the share of applications
//     that need it implemented, with loupe's evidence vs naive tracing, and a
//     table of the most needed;
//   - the syscall grid (Fig. 5): one row per application, one column per
//     syscall used by any (most needed first), coloured required / stub only
//     / fake only (also hatched: colour-blind readers confuse it with
//     required) / both / traced (untested), blank when unused; its labels
//     stay in view while it scrolls (CSS sticky positioning);
//   - per-application tables.
//
// With an OS (loupe report --os) the page is relative to it: the chart
// marks what the OS implements, stubs or fakes, the table and the grid put
// what it lacks first, and grid cells whose need it meets are faded.
//
// The page is html/template (page.html.tmpl, embedded), which escapes
// every name from the dataset; the figures are SVG drawn by svg.go.
//
// Write is pure: the same dataset and options give byte-identical HTML.
package report
