# SPDX-License-Identifier: MIT
# http_hello's entry in the table (gxbench/workloads.py loads it): its runs,
# with their sizes on the host and in the VM, the rows they yield and gmpx's
# targets. Its programs are beside this file: go/main.go and kassist_exit.c
# (the gmpx server is examples/http_hello.c).

from gxbench import servers
from gxbench.model import Metric, Run, Target, Workload

HTTP_THREADS, HTTP_CONNS = 2, 100                      # wrk -t -c
HTTP_SECS, HTTP_SECS_QUICK = 5, 1                      # wrk -d

WORKLOAD = Workload(
    "http_hello", f"HTTP/1.1 keep-alive hello server (examples/http_hello.c; Go: net/http) "
    f"under wrk -t{HTTP_THREADS} -c{HTTP_CONNS} -d{HTTP_SECS}s",
    runs=[Run("P2", {"maxprocs": 2, "threads": HTTP_THREADS, "conns": HTTP_CONNS,
                     "duration_s": HTTP_SECS},
              {"maxprocs": 2, "threads": HTTP_THREADS, "conns": HTTP_CONNS,
               "duration_s": HTTP_SECS_QUICK})],
    metrics=[
        Metric("requests/s", f"maxprocs=2, wrk -c{HTTP_CONNS}", "req/s", run="P2", higher=True,
               field="requests_per_s", target=Target("ratio_min", 1.0)),
        Metric("latency p99 µs", f"maxprocs=2, wrk -c{HTTP_CONNS}", "µs", run="P2", field="lat_p99_us"),
        Metric("server CPU µs/request", "maxprocs=2", "µs", run="P2", field="server_cpu_us_per_req"),
    ],
    driver=servers.drive_http_hello, vm=False,
    na={
        "pthreads": "a third HTTP server would compare HTTP code, not threads",
        "tokio": "Tokio has no HTTP server of its own (hyper is not in Debian's crates "
                 "here); a hand-written one would compare HTTP code, not schedulers",
        "fiber": "Boost.Fiber has no netpoller and no HTTP server",
    })
