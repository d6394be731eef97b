package main

import "github.com/VictoriaMetrics/metrics"

// Reload metrics, on VictoriaMetrics' default set (served at the admin
// API's /metrics). The start-up load is not counted as a reload but sets
// both gauges, as a successful load.
var (
	// reloadsSuccess and reloadsFailure count reloads by outcome, whatever
	// asked for them (SIGHUP, POST /reload, -watch-config).
	reloadsSuccess = metrics.NewCounter(`sluice_config_reloads_total{result="success"}`)
	reloadsFailure = metrics.NewCounter(`sluice_config_reloads_total{result="failure"}`)
	// lastReloadSuccessTime is the Unix time the running config was
	// installed.
	lastReloadSuccessTime = metrics.NewGauge(`sluice_config_last_reload_success_timestamp_seconds`, nil)
	// lastReloadSuccessful is 1 when the last load or reload succeeded, 0
	// when it failed (the previous config is still serving then).
	lastReloadSuccessful = metrics.NewGauge(`sluice_config_last_reload_successful`, nil)
)
