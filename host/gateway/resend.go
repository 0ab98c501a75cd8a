package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/host/egress"
	"github.com/gatehouse/gatehouse/host/upstream"
)

// Resending the backend call (ABI v1.1: the retry policy, forward-request's
// follow-redirects). A call whose policies asked for neither never gets
// here: its reverse proxy uses the gateway's transport directly.

// maxRedirects bounds the redirects the host follows for one call.
const maxRedirects = 10

// maxResendBudget caps the whole retry loop of one call.
const maxResendBudget = 10 * time.Minute

// maxDiscard is how much of a discarded response's body is read to keep its
// connection reusable.
const maxDiscard = 64 << 10

// resender is a call acting as its reverse proxy's transport.
type resender call

// prepareResend makes the call's request replayable and installs the
// resending transport. It answers (and returns false) when the body cannot
// be buffered within the API's body limit.
func (c *call) prepareResend() bool {
	ex := &c.ex
	retry := ex.Backend.Retry != nil && ex.Backend.Retry.Applies(ex.Method)
	if !retry && !ex.Backend.FollowRedirects {
		return true
	}
	if retry && !ex.ReqBody.Buffered() && ex.ReqBody.Src != nil {
		// A retried request is sent again with the same body: buffer it,
		// bounded by the API's body limit (the retry policy's documented
		// cost). Redirects alone do not buffer: a 307/308 with a streamed
		// body is passed to the client. Received like a body a policy
		// reads: limit (413), deadline and minimum rate (408), node budget
		// (503); receiveRequestBody answers when it cannot.
		if !c.receiveRequestBody() {
			return false
		}
	}
	c.rp.Transport = (*resender)(c)
	return true
}

// RoundTrip sends the request, again while the retry spec says so, and
// follows redirects when asked. Each attempt gets the call's backend
// timeout; the whole loop ends with the client's request context and
// within (1 + count) timeouts.
func (rs *resender) RoundTrip(req *http.Request) (*http.Response, error) {
	c := (*call)(rs)
	ex := &c.ex
	g := c.g
	retry := ex.Backend.Retry
	if retry != nil && !retry.Applies(req.Method) {
		retry = nil
	}
	timeout := c.rt.api.timeout
	if ex.Backend.Timeout > 0 {
		timeout = ex.Backend.Timeout
	}
	parent := req.Context()
	attempts := 1
	if retry != nil {
		attempts += retry.Count
	}
	budget := time.Duration(attempts) * timeout
	if budget > maxResendBudget || budget <= 0 {
		budget = maxResendBudget
	}
	deadline := time.Now().Add(budget)

	var body []byte
	replayable := ex.ReqBody.Buffered() || ex.ReqBody.Src == nil
	if ex.ReqBody.Buffered() {
		body = ex.ReqBody.Bytes
	}
	cur := req
	retries, redirects := 0, 0
	for {
		ctx, cancel := context.WithTimeout(parent, timeout)
		attempt := cur.WithContext(ctx)
		if replayable && cur.Body != nil && cur.Body != http.NoBody {
			attempt.Body = io.NopCloser(bytes.NewReader(body))
			attempt.ContentLength = int64(len(body))
			attempt.GetBody = nil
		}
		resp, err := c.rt.api.transport.RoundTrip(attempt)
		if err == nil && ex.Backend.FollowRedirects && redirects < maxRedirects {
			if next := c.redirect(cur, resp, replayable); next != nil {
				discard(resp)
				cancel()
				cur = next
				redirects++
				continue
			}
		}
		if retry == nil || retries >= retry.Count || parent.Err() != nil || !retryable(retry, resp, err) {
			c.keepCancel(cancel)
			return resp, err
		}
		retries++
		wait := retry.Wait(retries)
		if time.Now().Add(wait).After(deadline) {
			c.keepCancel(cancel)
			return resp, err
		}
		discard(resp)
		cancel()
		g.retries.Add(1)
		g.log.Debug("retrying backend call", "request_id", c.reqID, "api", ex.API, "retry", retries, "wait", wait)
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-parent.Done():
				t.Stop()
				return nil, parent.Err()
			}
		}
	}
}

// keepCancel remembers the last attempt's cancel: its response body is
// still being copied; putCall releases it.
func (c *call) keepCancel(cancel context.CancelFunc) {
	if c.cancel != nil {
		c.cancel()
	}
	c.cancel = cancel
}

func retryable(r *upstream.Retry, resp *http.Response, err error) bool {
	if err != nil {
		return r.OnError && !errors.Is(err, context.Canceled)
	}
	return r.Retryable(resp.StatusCode)
}

// discard drains a little of a response body (so its connection can be
// reused) and closes it.
func discard(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxDiscard)
	_ = resp.Body.Close()
}

// redirect returns the request to send for a redirect response, or nil to
// pass the response on: not a redirect, no usable Location, a target the
// backend rules refuse, or a body that cannot be sent again.
func (c *call) redirect(req *http.Request, resp *http.Response, replayable bool) *http.Request {
	method := req.Method
	keepBody := false
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
		if method != http.MethodGet && method != http.MethodHead {
			method = http.MethodGet
		}
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		keepBody = true
		if !replayable {
			return nil
		}
	default:
		return nil
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil
	}
	u, err := req.URL.Parse(loc)
	if err != nil {
		return nil
	}
	// Each hop passes the API's egress rule (its addresses again at dial
	// time); https → http is refused. A refused hop's response is passed
	// to the client as the backend sent it.
	if err := egress.CheckRedirect(c.rt.api.egress, req.URL, u); err != nil {
		c.g.log.Warn("backend redirect refused", "request_id", c.reqID, "api", c.ex.API, "err", err)
		return nil
	}
	next := req.Clone(req.Context())
	next.URL = u
	next.Host = ""
	next.Method = method
	if !keepBody {
		next.Body, next.ContentLength, next.GetBody = http.NoBody, 0, nil
		next.Header.Del("Content-Type")
	}
	if u.Host != req.URL.Host {
		// as net/http's client: credentials do not follow to another host
		for _, h := range []string{"Authorization", "Www-Authenticate", "Cookie", "Cookie2", "Proxy-Authorization"} {
			next.Header.Del(h)
		}
	}
	return next
}
