// Package promcheck holds one test: the gateway's /metrics, scraped from
// the built binary after real traffic, parsed by the Prometheus text parser
// (github.com/prometheus/common/expfmt). It lives in the tools module
// because that module already requires prometheus/common (through
// toxiproxy's server), so the check adds no dependency to the gateway's
// go.mod; the gateway is built from the parent module and run as a process.
package promcheck
