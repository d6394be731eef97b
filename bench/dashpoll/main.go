// Command dashpoll plays N open dashboards for bench/dashboard.sh: N
// viewers, each with its own keep-alive connection as a browser tab has,
// fetching the dashboard's data once a second until killed. One process
// for all of them, so the client side costs next to nothing and the
// benchmark measures the gateway.
//
//	dashpoll -url http://127.0.0.1:9901/dashboard/data -n 10
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:9901/dashboard/data", "the dashboard's data `URL`")
	n := flag.Int("n", 10, "viewers")
	every := flag.Duration("every", time.Second, "each viewer's poll interval (app.js polls every second)")
	flag.Parse()
	var failed atomic.Int64
	for i := range *n {
		go func() {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 5 * time.Second}
			// Spread the viewers over the interval, as pages opened at
			// different moments are.
			time.Sleep(*every * time.Duration(i) / time.Duration(*n))
			for t := time.NewTicker(*every); ; <-t.C {
				resp, err := c.Get(*url)
				if err != nil || resp.StatusCode != http.StatusOK {
					if failed.Add(1) == 1 {
						fmt.Fprintln(os.Stderr, "dashpoll: a poll failed:", err, resp)
					}
				}
				if resp != nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	select {}
}
