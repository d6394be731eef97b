// Package procfs reads what the benchmark kit needs about a process tree from
// /proc: CPU time, resident memory and open descriptors, summed over a root
// process and all its descendants (nginx master + workers, or a wrapper shell).
// Linux only; used by bench/idle and bench/report, imported by nothing else.
package procfs

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// Usage is summed over a process tree.
type Usage struct {
	Ticks int64 // utime+stime in clock ticks (USER_HZ, 100 on Linux)
	// SysTicks is the stime part of Ticks: time in the kernel on the
	// tree's behalf (syscalls, and on loopback the peer's TCP receive path).
	SysTicks int64
	RSSKiB   int64 // sum of VmRSS
	FDs      int   // open descriptors
	Procs    int   // processes counted
}

// stat returns the fields of /proc/<pid>/stat after "(comm)": index 0 is the
// state, 1 the ppid, 11 utime, 12 stime.
func stat(pid int) ([][]byte, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, false
	}
	return bytes.Fields(b[i+1:]), true
}

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	f, ok := stat(pid)
	return ok && len(f) > 0 && f[0][0] != 'Z' && f[0][0] != 'X'
}

// Tree returns root followed by all its descendants (breadth first).
func Tree(root int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return []int{root}
	}
	kids := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f, ok := stat(pid); ok && len(f) > 1 {
			ppid, _ := strconv.Atoi(string(f[1]))
			kids[ppid] = append(kids[ppid], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, kids[out[i]]...)
	}
	return out
}

// Read sums CPU ticks, VmRSS and descriptors over root's tree.
func Read(root int) (Usage, error) {
	var u Usage
	if _, ok := stat(root); !ok {
		return u, fmt.Errorf("procfs: no process %d", root)
	}
	for _, pid := range Tree(root) {
		f, ok := stat(pid)
		if !ok {
			continue // exited meanwhile
		}
		if len(f) > 12 {
			ut, _ := strconv.ParseInt(string(f[11]), 10, 64)
			st, _ := strconv.ParseInt(string(f[12]), 10, 64)
			u.Ticks += ut + st
			u.SysTicks += st
		}
		u.RSSKiB += vmRSS(pid)
		if fds, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd"); err == nil {
			u.FDs += len(fds)
		}
		u.Procs++
	}
	return u, nil
}

// RSSKiB is one process's VmRSS in KiB; 0 when it cannot be read.
func RSSKiB(pid int) int64 { return vmRSS(pid) }

func vmRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	i := bytes.Index(b, []byte("\nVmRSS:"))
	if i < 0 {
		return 0 // kernel threads, zombies
	}
	f := bytes.Fields(b[i+len("\nVmRSS:"):])
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(string(f[0]), 10, 64)
	return n
}
