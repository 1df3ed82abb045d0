// Package exitstatus is how a process ended, said one way everywhere: the
// tracer's result, dh_loupe's recorded test step, the trace file, the
// simulation report, and the messages and verdict evidence that quote them
// ("exit 2", "killed by signal 11 (segmentation fault)").
package exitstatus
