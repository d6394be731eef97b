package proxy

import (
	"errors"
	"strings"

	"github.com/sluicehq/sluice/http1"
	"github.com/sluicehq/sluice/router"
)

// The gateway's own error replies, each status and client message written
// once. With the split of issue 13 this table, statusOf and messageOf move
// to proxy/ (the one error → status mapping); engine keeps no status codes.
// The messages are the "error" of the JSON body clients and tests read:
// change one only on purpose.

// replyError is an error the gateway answers itself: the status and the
// message of the JSON error body. The values are the named errors below,
// compared by identity; never build one per request.
type replyError struct {
	status int
	msg    string
}

// Error returns the client message.
func (e *replyError) Error() string { return e.msg }

// The request: what the client sent cannot be served.
var (
	errTargetForm       = &replyError{400, "request-target form not supported"}
	errBadChunkedBody   = &replyError{400, "bad chunked request body"}
	errBodyEndedEarly   = &replyError{400, "request body ended early"}
	errNoRoute          = &replyError{404, "no route"}
	errMethodNotAllowed = &replyError{405, "method not allowed"}
	errHeaderTimeout    = &replyError{408, "request header timeout"}
	errBodyTimeout      = &replyError{408, "request body timeout"}
	errBodyTooLarge     = &replyError{413, "request body too large"}
)

// The gateway: it could not carry the request, or will not take more.
var (
	errInternal         = &replyError{500, "internal error"}
	errCannotStreamBody = &replyError{500, "cannot stream request body"}
	errCannotResume     = &replyError{500, "cannot resume client connection"}
	errNoHealthyTarget  = &replyError{503, "no healthy upstream"}
	errTooManyConns     = &replyError{503, "too many connections"}
	errDraining         = &replyError{503, "draining: shutting down"}
)

// The upstream: it failed or answered something that cannot be relayed.
var (
	errConnectFailed        = &replyError{502, "upstream connect failed"}
	errUpstreamClosed       = &replyError{502, "upstream closed the connection"}
	errBadResponseHead      = &replyError{502, "bad response head from upstream"}
	errSwitchedProtocols    = &replyError{502, "upstream switched protocols unasked"}
	errBadTransferCoding    = &replyError{502, "unsupported transfer coding from upstream"}
	errBadChunkedResponse   = &replyError{502, "bad chunked response"}
	errCannotStreamResponse = &replyError{502, "cannot stream response"}
	errUpstreamTimeout      = &replyError{504, "upstream timeout"}
)

// statusOf is the status the client gets for err: a replyError's own, a
// parse error's (http1.Error), 400 for a path the policy refused (router
// errors), and http1.StatusOf's answer for anything else (400 unless it
// wraps an http1.Error). The common cases allocate nothing.
func statusOf(err error) int {
	switch e := err.(type) {
	case *replyError:
		return e.status
	case *http1.Error:
		return e.Status
	}
	if errors.Is(err, router.ErrBadPath) || errors.Is(err, router.ErrPathEscapes) {
		return 400
	}
	return http1.StatusOf(err)
}

// messageOf is the client message for err: a replyError's own, or the
// parser's or router's reason without its package prefix. No allocation.
func messageOf(err error) string {
	if e, ok := err.(*replyError); ok {
		return e.msg
	}
	msg := err.Error()
	if m, ok := strings.CutPrefix(msg, "http1: "); ok {
		return m
	}
	return strings.TrimPrefix(msg, "router: ")
}

// fail answers the exchange's request with err's JSON error (see
// respondError for allow and mustClose). Loop only.
func (ex *exchange) fail(err error, allow []byte, mustClose bool) {
	ex.respondError(statusOf(err), messageOf(err), allow, mustClose)
}
