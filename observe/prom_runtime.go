package observe

import "bytes"

// runtimeHelp is the HELP text of the Go runtime and process families that
// VictoriaMetrics/metrics writes (WritePrometheus(w, true), v1.45). Memory
// statistics are runtime.MemStats fields; process figures come from
// /proc/self and the cgroup. A family added by a later version of the
// library gets genericHelp until it is listed here.
var runtimeHelp = map[string]string{
	// Counters the library names *_count, renamed (counterNames).
	"go_sched_latencies_seconds":          "Time goroutines spent runnable before running (runtime/metrics /sched/latencies).",
	"go_mutex_wait_seconds_total":         "Time goroutines spent blocked on sync.Mutex, sync.RWMutex and runtime locks.",
	"go_gc_mark_assist_cpu_seconds_total": "CPU time goroutines spent helping the garbage collector mark (GC assists).",
	"go_gc_cpu_seconds_total":             "CPU time spent in the garbage collector.",
	"go_gc_pauses_seconds":                "Stop-the-world pause durations of the garbage collector.",
	"go_scavenge_cpu_seconds_total":       "CPU time spent returning free heap memory to the operating system.",
	"go_memlimit_bytes":                   "The Go memory limit (GOMEMLIMIT / debug.SetMemoryLimit).",
	"go_memstats_alloc_bytes":             "Bytes of allocated heap objects (MemStats.Alloc).",
	"go_memstats_alloc_bytes_total":       "Bytes allocated for heap objects since start (MemStats.TotalAlloc).",
	"go_memstats_buck_hash_sys_bytes":     "Bytes in profiling bucket hash tables (MemStats.BuckHashSys).",
	"go_memstats_frees_total":             "Heap objects freed since start (MemStats.Frees).",
	"go_memstats_gc_cpu_fraction":         "Share of CPU time used by the garbage collector since start (MemStats.GCCPUFraction).",
	"go_memstats_gc_sys_bytes":            "Bytes of garbage-collection metadata (MemStats.GCSys).",
	"go_memstats_heap_alloc_bytes":        "Bytes of allocated heap objects (MemStats.HeapAlloc).",
	"go_memstats_heap_idle_bytes":         "Bytes in idle (unused) heap spans (MemStats.HeapIdle).",
	"go_memstats_heap_inuse_bytes":        "Bytes in in-use heap spans (MemStats.HeapInuse).",
	"go_memstats_heap_objects":            "Allocated heap objects (MemStats.HeapObjects).",
	"go_memstats_heap_released_bytes":     "Bytes of heap memory returned to the operating system (MemStats.HeapReleased).",
	"go_memstats_heap_sys_bytes":          "Bytes of heap memory obtained from the operating system (MemStats.HeapSys).",
	"go_memstats_last_gc_time_seconds":    "Unix time the last garbage collection finished (MemStats.LastGC).",
	"go_memstats_lookups_total":           "Pointer lookups performed by the runtime (MemStats.Lookups).",
	"go_memstats_mallocs_total":           "Heap objects allocated since start (MemStats.Mallocs).",
	"go_memstats_mcache_inuse_bytes":      "Bytes of allocated mcache structures (MemStats.MCacheInuse).",
	"go_memstats_mcache_sys_bytes":        "Bytes obtained from the operating system for mcache structures (MemStats.MCacheSys).",
	"go_memstats_mspan_inuse_bytes":       "Bytes of allocated mspan structures (MemStats.MSpanInuse).",
	"go_memstats_mspan_sys_bytes":         "Bytes obtained from the operating system for mspan structures (MemStats.MSpanSys).",
	"go_memstats_next_gc_bytes":           "Heap size the next garbage collection aims for (MemStats.NextGC).",
	"go_memstats_other_sys_bytes":         "Bytes of other runtime allocations (MemStats.OtherSys).",
	"go_memstats_stack_inuse_bytes":       "Bytes in stack spans (MemStats.StackInuse).",
	"go_memstats_stack_sys_bytes":         "Bytes of stack memory obtained from the operating system (MemStats.StackSys).",
	"go_memstats_sys_bytes":               "Total bytes of memory obtained from the operating system (MemStats.Sys).",
	"go_cgo_calls_total":                  "Calls from Go to C since start.",
	"go_cpu_count":                        "Logical CPUs usable by the process (runtime.NumCPU).",
	"go_gc_duration_seconds":              "Quantiles of garbage-collection pause durations.",
	"go_gc_forced_total":                  "Garbage collections forced by the application (runtime.GC) since start.",
	"go_gomaxprocs":                       "GOMAXPROCS: the Ps that run Go code at once.",
	"go_goroutines":                       "Goroutines that currently exist.",
	"go_threads":                          "OS threads created by the Go runtime.",
	"go_info":                             "Go version the binary was built with, in the version label; always 1.",
	"go_info_ext":                         "Garbage collector settings (GOGC) in labels; always 1.",

	"process_cpu_seconds_system_total":              "CPU time the process spent in the kernel.",
	"process_cpu_seconds_total":                     "CPU time the process spent, user and kernel.",
	"process_cpu_seconds_user_total":                "CPU time the process spent in user space.",
	"process_major_pagefaults_total":                "Page faults that needed a disk read.",
	"process_minor_pagefaults_total":                "Page faults served without a disk read.",
	"process_max_fds":                               "Maximum open file descriptors (RLIMIT_NOFILE soft limit).",
	"process_open_fds":                              "Open file descriptors.",
	"process_num_threads":                           "OS threads of the process.",
	"process_resident_memory_bytes":                 "Resident set size (RSS).",
	"process_start_time_seconds":                    "Unix time the process started.",
	"process_virtual_memory_bytes":                  "Virtual memory size.",
	"process_virtual_memory_peak_bytes":             "Peak virtual memory size.",
	"process_resident_memory_peak_bytes":            "Peak resident set size.",
	"process_resident_memory_anon_bytes":            "Resident anonymous memory (heap, stacks).",
	"process_resident_memory_file_bytes":            "Resident file-backed memory (the binary, mapped files).",
	"process_resident_memory_shared_bytes":          "Resident shared memory.",
	"process_io_read_bytes_total":                   "Bytes the process read, from any source (rchar).",
	"process_io_written_bytes_total":                "Bytes the process wrote, to any destination (wchar).",
	"process_io_read_syscalls_total":                "Read system calls made by the process.",
	"process_io_write_syscalls_total":               "Write system calls made by the process.",
	"process_io_storage_read_bytes_total":           "Bytes the process caused to be read from storage.",
	"process_io_storage_written_bytes_total":        "Bytes the process caused to be written to storage.",
	"process_pressure_cpu_waiting_seconds_total":    "Time some of the cgroup's tasks waited for CPU (PSI some).",
	"process_pressure_cpu_stalled_seconds_total":    "Time all of the cgroup's tasks waited for CPU (PSI full).",
	"process_pressure_io_waiting_seconds_total":     "Time some of the cgroup's tasks waited for I/O (PSI some).",
	"process_pressure_io_stalled_seconds_total":     "Time all of the cgroup's tasks waited for I/O (PSI full).",
	"process_pressure_memory_waiting_seconds_total": "Time some of the cgroup's tasks waited for memory (PSI some).",
	"process_pressure_memory_stalled_seconds_total": "Time all of the cgroup's tasks waited for memory (PSI full).",
	"process_cgroup_cpu_throttled_seconds_total":    "Time the cgroup was throttled by its CPU limit.",
}

// counterNames renames the library's counters whose names end in _count:
// Prometheus reserves that suffix for histograms and summaries, and
// promtool's lint asks counters to end in _total.
var counterNames = map[string]string{
	"go_cgo_calls_count": "go_cgo_calls_total",
	"go_gc_forced_count": "go_gc_forced_total",
}

// renameCounter returns line with a family of counterNames renamed, or
// line itself. name is the family the line is about.
func renameCounter(line []byte, name string) []byte {
	to, ok := counterNames[name]
	if !ok {
		return line
	}
	return bytes.Replace(line, []byte(name), []byte(to), 1)
}
