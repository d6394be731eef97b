package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/sluicehq/sluice/config"
)

// ErrNothingToReload is returned (wrapped) by Gateway.Reload when the
// gateway runs a config that has no file, such as the embedded quickstart.
var ErrNothingToReload = errors.New("admin: no config file to reload")

// reloadStatus maps a Gateway.Reload error to the status POST /reload
// answers with: 409 when there is no file to reload (the request cannot
// succeed in this state), 422 for everything else, which is a config the
// gateway refused (bad content, an unreadable file, a snapshot that does
// not build). Either way the previous config keeps serving.
func reloadStatus(err error) int {
	if errors.Is(err, ErrNothingToReload) {
		return http.StatusConflict
	}
	return http.StatusUnprocessableEntity
}

// errorItem is one problem of a refused config, in POST /reload's answer.
// Text is always set ("file:line:col: path: message" when the position is
// known); the other fields only for config errors with a position.
type errorItem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message,omitempty"`
	Text    string `json:"text"`
}

// errorItems lists the problems inside err: each *config.Error with its
// position, and any other error as one line of text per line.
func errorItems(err error) []errorItem {
	var items []errorItem
	for _, e := range leafErrors(err) {
		if ce, ok := e.(*config.Error); ok {
			items = append(items, errorItem{
				File: ce.Pos.File, Line: ce.Pos.Line, Column: ce.Pos.Col,
				Path: ce.Path, Message: ce.Msg, Text: ce.Error(),
			})
			continue
		}
		for line := range strings.SplitSeq(e.Error(), "\n") {
			if line != "" {
				items = append(items, errorItem{Text: line})
			}
		}
	}
	return items
}

// leafErrors flattens errors.Join trees (and %w wrappers around them)
// into their members, keeping each *config.Error whole.
func leafErrors(err error) []error {
	switch e := err.(type) {
	case nil:
		return nil
	case *config.Error:
		return []error{e}
	case interface{ Unwrap() []error }:
		var out []error
		for _, x := range e.Unwrap() {
			out = append(out, leafErrors(x)...)
		}
		return out
	}
	if inner := errors.Unwrap(err); inner != nil {
		// A wrapper around config errors adds no position: show theirs.
		if l := leafErrors(inner); len(config.Errors(inner)) > 0 {
			return l
		}
	}
	return []error{err}
}

// writeJSON answers with v as indented JSON (people read these with curl).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal error: cannot encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError answers {"error": msg} with status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
