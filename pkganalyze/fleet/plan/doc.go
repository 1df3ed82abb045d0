// Package plan computes support plans (paper §4): given what an OS supports
// today and the evidence of a dataset, the order in which to implement,
// stub and fake syscalls so that as many applications as possible run as
// early as possible.
//
// Model. Each syscall is absent, stubbed (-ENOSYS), faked (returns 0) or
// implemented. An application accepts, for each syscall it uses, the
// implementation and, where its evidence says so, a stub and/or a fake. It
// is supported when every syscall it uses is in a state it accepts. Stubs
// and fakes are cheap and listed; implementations cost 1 each, or the
// weight given per syscall. Supported applications stay supported: a stub
// is switched to a fake (or back) only if every supported user accepts it,
// and a syscall that two applications need stubbed and faked respectively
// must be implemented.
//
// Objective (greedy, deterministic). Step 0 supports every application that
// needs no implementation, with the stubs and fakes it needs. Then each step
// implements the syscalls some remaining application needs and supports
// every application that then needs nothing more; the step chosen has the
// most applications unlocked per unit of cost, ties going to the cheaper
// step, then to the one after which the best next step is best (one step of
// look-ahead), then to fewer stub/fake changes, then to the application
// name. Differences from upstream's greedy: stub/fake needs count at every
// step including 0; a stubbed syscall later implemented is reported as
// replaced and is not in the final stub list; stub and fake are not swapped;
// applications without usable evidence are "no data", never supported.
//
// Evidence. Only status ok + mode analyze entries count (Apps with naive
// false). A naive plan (Apps with naive true) treats every used syscall as
// required, which is what trace-mode data supports; it is labelled naive.
// Several workloads of an application combine conservatively: a syscall
// that any workload requires is required.
package plan
