// Package progress shows how far a long job has come (an analysis's runs, a
// rebuild's packages), for loupe analyze, dh_loupe_verdict and loupe
// rebuild alike:
//
//   - on a terminal, one status line, rewritten in place every second and
//     at every update, and kept below the log lines written through
//     Printer.Log;
//   - elsewhere (a build log), a plain line, without escape codes, every
//     Interval (30s) or every tenth of the planned work, whichever comes
//     first;
//   - nothing at all when the caller is quiet (it then makes no Printer).
//
// A line reads "runs 42/120, units settled 10/38, 1m02s elapsed, ETA 2m10s".
// The ETA assumes the remaining work goes at the pace of the work done; the
// planned total is the caller's estimate and may change as it goes.
//
// A Printer owns a goroutine between Start and Stop; Update, Log and Stop
// are safe for concurrent use.
package progress
