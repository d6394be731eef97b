// Package k6check holds the CI check of the k6 scripts in bench/k6 (the scripts themselves are
// run with k6, see README.md; k6 is not installed where the tests run).
//
// The tests convert each script's ES module syntax to plain JavaScript, evaluate it with
// github.com/dop251/goja (the engine k6 grew from) against stub k6 modules, validate the exported
// options against k6's executor and threshold rules, and call the default function with a stub
// k6/http that makes real requests to a local recording server. The package has no non-test code.
package k6check
