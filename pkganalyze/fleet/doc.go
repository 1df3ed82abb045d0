// Package fleet holds no code. Its subpackages are the part of loupe that
// takes many verdicts (a rebuild's, upstream Loupe's) to decisions for an OS,
// downstream of the method in package pkganalyze, which they never import:
//
//   - dataset: verdicts (and simulation reports) folded into one file,
//     schema loupe/dataset/v1 (loupe db);
//   - loupedb: upstream Loupe's published results read into a dataset;
//   - plan: support plans for an OS, and what an OS file means for a
//     running workload (loupe plan, loupe simulate);
//   - report: the HTML report over a dataset (loupe report);
//   - simulate: the report of one simulated run, schema
//     loupe/simulation/v1 (loupe simulate).
//
// They are pure: they read files and write files, and run nothing.
package fleet
