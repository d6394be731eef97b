package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestWatchConfig: a rewrite (size or mtime) triggers one reload; an
// unchanged file none; a removed file is not reloaded and its return is.
func TestWatchConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sluice.yaml")
	if err := os.WriteFile(p, []byte("a: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		watchConfig(ctx, p, 5*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)), func() { n.Add(1) })
		close(done)
	}()
	defer func() { cancel(); <-done }()
	waitCount := func(what string, want int32) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); n.Load() != want; {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d reloads, want %d", what, n.Load(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Several polls with nothing changed: no reload.
	time.Sleep(30 * time.Millisecond)
	if n.Load() != 0 {
		t.Fatalf("reloaded an unchanged file %d times", n.Load())
	}
	if err := os.WriteFile(p, []byte("a: 12\n"), 0o600); err != nil { // size changes
		t.Fatal(err)
	}
	waitCount("size change", 1)
	old := time.Now().Add(-time.Hour) // same size, other mtime
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	waitCount("mtime change", 2)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if n.Load() != 2 {
		t.Fatalf("a removed file was reloaded")
	}
	if err := os.WriteFile(p, []byte("a: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitCount("file back", 3)
}
