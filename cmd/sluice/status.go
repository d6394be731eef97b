package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluicehq/sluice/admin"
)

// `sluice status` and `sluice routes` print the dashboard's views as
// tables, from a running gateway's admin API (GET /dashboard/data, decoded
// into admin.Dashboard): the
// config and clusters, or the routes with their traffic. The token, when
// the admin API has one, comes from SLUICE_ADMIN_TOKEN (never a flag: it
// would show in ps).

// tokenEnv names the variable the admin subcommands read the token from.
const tokenEnv = "SLUICE_ADMIN_TOKEN"

// adminView runs `sluice status` or `sluice routes` (name) with args.
func adminView(name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sluice "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("admin", "127.0.0.1:9901", "admin API `address` of the running gateway (host:port or a URL)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sluice %s [-admin ADDR]\n\nThe token, when the admin API needs one, is read from %s.\n\n", name, tokenEnv)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice %s: unexpected argument %q\n", name, fs.Arg(0))
		return 2
	}
	base := *addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	c := &http.Client{Timeout: 5 * time.Second}
	doc, err := fetchLive(c, strings.TrimSuffix(base, "/"), os.Getenv(tokenEnv))
	if err == nil && doc.WindowSeconds == 0 && name == "routes" {
		// Nobody was looking, so there are no rates yet: the server
		// compares readings at least a second apart.
		time.Sleep(1100 * time.Millisecond)
		doc, err = fetchLive(c, strings.TrimSuffix(base, "/"), os.Getenv(tokenEnv))
	}
	if err != nil {
		fmt.Fprintf(stderr, "sluice %s: %v\n", name, err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if name == "status" {
		printStatus(tw, doc)
	} else {
		printRoutes(tw, doc)
	}
	tw.Flush()
	return 0
}

func fetchLive(c *http.Client, base, token string) (*admin.Dashboard, error) {
	req, err := http.NewRequest(http.MethodGet, base+"/dashboard/data", nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			if resp.StatusCode == http.StatusUnauthorized && token == "" {
				e.Error += " (set " + tokenEnv + ")"
			}
			return nil, fmt.Errorf("%s: %s", resp.Status, e.Error)
		}
		return nil, errors.New(resp.Status)
	}
	var doc admin.Dashboard
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	return &doc, nil
}

func printStatus(w io.Writer, d *admin.Dashboard) {
	c := d.Config
	file := c.File
	if file == "" {
		file = "(embedded quickstart)"
	}
	fmt.Fprintf(w, "config\t#%d\t%s\n", c.Version, file)
	fmt.Fprintf(w, "loaded\t%s\t(%s ago)\n", c.LoadedAt.UTC().Format(time.DateTime+" UTC"), time.Since(c.LoadedAt).Round(time.Second))
	fmt.Fprintf(w, "size\t%d routes, %d clusters, %d middleware\n", c.Routes, c.Clusters, c.Middleware)
	if r := d.LastReload; r == nil {
		fmt.Fprintf(w, "last reload\tnone\n")
	} else if r.OK {
		fmt.Fprintf(w, "last reload\tapplied\t%s by %s\n", r.At.UTC().Format(time.DateTime+" UTC"), r.Trigger)
	} else {
		fmt.Fprintf(w, "last reload\tREJECTED\t%s by %s: %s\n", r.At.UTC().Format(time.DateTime+" UTC"), r.Trigger, r.Error)
		for _, e := range r.Errors {
			fmt.Fprintf(w, "\t\t%s\n", e.Text)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "CLUSTER\tBALANCER\tTARGET\tHEALTH\tBREAKER\tIN-FLIGHT\tCONNS (ACTIVE/IDLE)\tEJECTIONS")
	for _, cl := range d.Clusters {
		for _, t := range cl.Targets {
			health := "healthy"
			if !t.Healthy {
				health = "UNHEALTHY"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%.0f/%.0f\t%d\n", cl.Name, cl.Balancer, t.Address, health, t.Breaker, t.InFlight, t.ActiveConnections, t.IdleConnections, t.Ejections)
		}
	}
}

func printRoutes(w io.Writer, d *admin.Dashboard) {
	fmt.Fprintf(w, "ROUTE\tPATH\tCLUSTER\tREQ/S\tREQUESTS\t5XX\t4XX\tP50/P99 MS\tGATEWAY P50/P99\tUPSTREAM P50/P99\tRATE-LIMITED\n")
	for _, r := range d.Routes {
		path := r.Path
		if len(r.Methods) > 0 {
			path += " (" + strings.Join(r.Methods, ",") + ")"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%.0f\n", r.Name, path, r.Cluster,
			orDash(r.RPS, "%.1f", 1), r.Requests, orDash(r.ErrorRate, "%.1f%%", 100), orDash(r.ClientErrorRate, "%.1f%%", 100),
			pairOf(r.Total), pairOf(r.Overhead), pairOf(r.Upstream), r.RateLimited)
	}
	if d.WindowSeconds > 0 {
		fmt.Fprintf(w, "\n(rates and latencies over the last %.0f s)\n", d.WindowSeconds)
	}
}

func orDash(v *float64, format string, scale float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v*scale)
}

func pairOf(q admin.Quantiles) string {
	return orDash(q.P50, "%.2f", 1) + " / " + orDash(q.P99, "%.2f", 1)
}
