// testapp: one static binary with the failure modes the real-node tests drive. Each mode is
// the first argument; its flags follow. What it prints is what a real process would: Go's own
// error texts (os.WriteFile's, net/http's), nothing shaped for crashwatch.
//
//	testapp exit -code N -msg TEXT       print TEXT on stderr, exit N
//	testapp hog -mib N [-listen :8080]   allocate and touch N MiB, then serve /healthz
//	testapp serve [-listen :8080] [-health /healthz] [-ready /ready] [-ready-status 200]
//	              [-delay 0s]            HTTP: 200 on the health route, -ready-status on
//	                                     the ready route, 404 elsewhere; listens only after
//	                                     -delay (an app that takes a while to start)
//	testapp write -path P                write P (fails under readOnlyRootFilesystem), then serve
//	testapp sleep                        do nothing until SIGTERM
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testapp exit|hog|serve|write|sleep [flags]")
		os.Exit(2)
	}
	mode, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	code := fs.Int("code", 1, "exit code (exit)")
	msg := fs.String("msg", "", "message printed on stderr before exiting (exit)")
	mib := fs.Int("mib", 64, "MiB to allocate and keep (hog)")
	listen := fs.String("listen", ":8080", "HTTP address (hog, serve, write)")
	health := fs.String("health", "/healthz", "health route, answers 200 (serve)")
	ready := fs.String("ready", "/ready", "readiness route (serve)")
	readyStatus := fs.Int("ready-status", 200, "status of the readiness route (serve)")
	path := fs.String("path", "/data/state", "file to write (write)")
	delay := fs.Duration("delay", 0, "time before listening, as a slow start (serve)")
	if err := fs.Parse(args); err != nil {
		os.Exit(2)
	}
	switch mode {
	case "exit":
		if *msg != "" {
			fmt.Fprintln(os.Stderr, *msg)
		}
		os.Exit(*code)
	case "hog":
		fmt.Printf("testapp: allocating %d MiB\n", *mib)
		keep := make([][]byte, 0, *mib)
		for i := 0; i < *mib; i++ {
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		fmt.Printf("testapp: holding %d MiB\n", len(keep))
		serve(*listen, "/healthz", "/ready", 200)
		fmt.Println(len(keep))
	case "serve":
		if *delay > 0 {
			fmt.Printf("testapp: starting up (%s)\n", *delay)
			time.Sleep(*delay)
		}
		serve(*listen, *health, *ready, *readyStatus)
	case "write":
		if err := os.WriteFile(*path, []byte(time.Now().String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "testapp: cannot save state:", err)
			os.Exit(1)
		}
		fmt.Println("testapp: wrote", *path)
		serve(*listen, "/healthz", "/ready", 200)
	case "sleep":
		waitSignal()
	default:
		fmt.Fprintf(os.Stderr, "testapp: unknown mode %q\n", mode)
		os.Exit(2)
	}
}

func serve(addr, health, ready string, readyStatus int) {
	mux := http.NewServeMux()
	mux.HandleFunc(health, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc(ready, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(readyStatus)
		fmt.Fprintln(w, http.StatusText(readyStatus))
	})
	fmt.Printf("testapp: listening on %s (health %s, ready %s -> %d)\n", addr, health, ready, readyStatus)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			fmt.Fprintln(os.Stderr, "testapp:", err)
			os.Exit(1)
		}
	}()
	waitSignal()
}

func waitSignal() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	s := <-sigs
	fmt.Println("testapp: got", s, "- exiting")
	os.Exit(0)
}
