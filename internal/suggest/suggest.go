package suggest

// maxLen bounds the names compared: no name loupe knows is longer, and the
// distance is quadratic in the lengths (hostile input can be long).
const maxLen = 64

// Closest returns the name of known closest to the first of spellings by
// Distance, or "" if none is reasonably close (fewer than len/3+2 edits:
// "wirte" is close to "write", "frob" is not close to "db"). The
// other spellings are alternative forms of the same input (an upper-cased
// ioctl name): a known name's distance is its smallest over all of them.
// Ties go to the earliest name of known.
func Closest(known []string, spellings ...string) string {
	if len(spellings) == 0 || len(spellings[0]) > maxLen {
		return ""
	}
	best, bestD := "", len(spellings[0])/3+2
	for _, k := range known {
		if k == "" || len(k) > maxLen {
			continue
		}
		for _, s := range spellings {
			if d := Distance(s, k); d < bestD {
				best, bestD = k, d
			}
		}
	}
	return best
}

// Distance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of adjacent bytes
// each cost 1, so that "fnctl" is one step from "fcntl", not two (which
// would tie with "ioctl"), and TCGEST one from TCGETS.
func Distance(a, b string) int {
	pp := make([]int, len(b)+1) // row i-2
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], pp[j-2]+1)
			}
		}
		pp, prev, cur = prev, cur, pp
	}
	return prev[len(b)]
}
