# SPDX-License-Identifier: MIT
# netpoll_echo's entry in the table (gxbench/workloads.py loads it): its runs,
# with their sizes on the host and in the VM, the rows they yield and gmpx's
# targets. Its programs are beside this file: gmpx.c, go/main.go, pthreads.c,
# client.c.

from gxbench import servers
from gxbench.model import SCX_SAME_AS_OFF_MIN, Metric, Run, Target, Workload

ECHO_CONNS, ECHO_CONNS_QUICK = 1000, 50                # concurrent connections
ECHO_TRIPS, ECHO_TRIPS_QUICK = 200, 20                 # round trips per connection
ECHO_SIZE = 64                                         # bytes per message
ECHO_CLIENT_THREADS = 2

WORKLOAD = Workload(
    "netpoll_echo", f"echo server, goroutine per connection; one C client (threads + epoll) "
    f"runs {ECHO_CONNS} connections x {ECHO_TRIPS} round trips of {ECHO_SIZE} B on 127.0.0.1",
    runs=[Run("P2", {"maxprocs": 2, "conns": ECHO_CONNS, "trips": ECHO_TRIPS, "size": ECHO_SIZE,
                     "threads": ECHO_CLIENT_THREADS},
              {"maxprocs": 2, "conns": ECHO_CONNS_QUICK, "trips": ECHO_TRIPS_QUICK, "size": ECHO_SIZE,
               "threads": ECHO_CLIENT_THREADS},
              vm={"maxprocs": 2, "conns": 100, "trips": 50, "size": ECHO_SIZE,
                  "threads": ECHO_CLIENT_THREADS},
              vm_quick={"maxprocs": 2, "conns": 20, "trips": 10, "size": ECHO_SIZE,
                        "threads": ECHO_CLIENT_THREADS})],
    metrics=[
        Metric("requests/s", f"maxprocs=2, {ECHO_CONNS} conns (VM: 100)", "req/s", run="P2", higher=True,
               field="requests_per_s",
               target=(Target("ratio_min", 1.0),
                       Target("ratio_to_min", SCX_SAME_AS_OFF_MIN, impl="vm-scx", ref="vm-off"))),
        Metric("round trip p99 µs", f"maxprocs=2, {ECHO_CONNS} conns (VM: 100)", "µs", run="P2",
               field="lat_p99_us"),
        Metric("server CPU µs/request", "maxprocs=2", "µs", run="P2", field="server_cpu_us_per_req"),
    ],
    driver=servers.drive_netpoll_echo, helpers=("netpoll_echo_client",),
    na={
        "fiber": "Boost.Fiber has no netpoller: a blocking read blocks the whole thread "
                 "and every fiber on it",
    })
