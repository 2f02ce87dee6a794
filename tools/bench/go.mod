// Go peers of the gmpx benchmark workloads (tools/bench/workloads/*/gmpx.c).
// Standard library only: no requires, nothing fetched from the network.
module gmpxbench

go 1.23
