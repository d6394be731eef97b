// Package archtest holds the test that keeps the package map of
// docs/ARCHITECTURE.md §2 true: which package may import which. It has no
// code of its own.
package archtest
