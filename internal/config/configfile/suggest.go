package configfile

import (
	"fmt"
	"sort"
	"strings"
)

// suggest returns ` (did you mean "x"?)` when exactly one nearest
// candidate is within edit distance 2 of word (or equal ignoring case),
// or else when exactly one candidate starts with word or is the start of
// word ("bearer" → "bearer_token", "warning" → "warn"); "" otherwise.
func suggest(word string, candidates []string) string {
	if s := didYouMean(word, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// didYouMean returns the candidate suggest would name, or "".
func didYouMean(word string, candidates []string) string {
	if len(word) > 64 {
		return ""
	}
	if s := nearest(word, candidates); s != "" {
		return s
	}
	return prefixMatch(word, candidates)
}

// prefixMatch returns the one candidate that extends word or that word
// extends, or "".
func prefixMatch(word string, candidates []string) string {
	if len(word) < 4 {
		return ""
	}
	found := ""
	for _, c := range candidates {
		if len(c) >= 4 && (strings.HasPrefix(c, word) || strings.HasPrefix(word, c)) {
			if found != "" {
				return ""
			}
			found = c
		}
	}
	return found
}

// nearest returns the one candidate closest to word within distance 2,
// or "" when there is none or a tie.
func nearest(word string, candidates []string) string {
	best, bestDist, ties := "", 3, 0
	for _, c := range candidates {
		d := editDistance(word, c)
		if strings.EqualFold(word, c) {
			d = 0
		}
		switch {
		case d < bestDist:
			best, bestDist, ties = c, d, 0
		case d == bestDist:
			ties++
		}
	}
	if ties > 0 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
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
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// sortedKeys returns the keys of m in order, for stable suggestions and
// "want one of" lists.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
