package main

import (
	"context"
	"log/slog"
	"os"
	"time"
)

// watchInterval is how often -watch-config looks at the file.
const watchInterval = time.Second

// fileStamp is what the watcher compares: a rewrite changes the mtime (and
// usually the size); an atomic rename-over or a Kubernetes ConfigMap
// symlink swap does too, since the path is stat'ed, not an open file.
type fileStamp struct {
	mtime time.Time
	size  int64
	ok    bool // the file could be stat'ed
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{mtime: fi.ModTime(), size: fi.Size(), ok: true}
}

// watchConfig polls path every interval until ctx ends and calls reload
// when its mtime or size changed since the last look. Polling, not
// inotify: it needs nothing from the platform and sees every way a file
// gets replaced. A file caught half-written fails to reload (the old
// config keeps serving) and the finished write changes the stamp again,
// so it is picked up one interval later. A file that disappears is
// logged, not reloaded; its return is a change.
func watchConfig(ctx context.Context, path string, interval time.Duration, log *slog.Logger, reload func()) {
	last := stampOf(path)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := stampOf(path)
		if cur == last {
			continue
		}
		last = cur
		if !cur.ok {
			log.Warn("-watch-config: the config file is gone; still serving the running config", "config", path)
			continue
		}
		reload()
	}
}
