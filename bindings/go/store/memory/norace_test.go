//go:build !race

package memory

// raceDetector reports whether the tests run under the race detector.
const raceDetector = false
