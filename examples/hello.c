/* SPDX-License-Identifier: MIT */
/*
 * hello.c - the smallest useful gmpx program: start goroutines, pass each a
 * value by copy, protect shared state with a Mutex, wait with a WaitGroup.
 *
 *   cc -O2 -Iinclude examples/hello.c build/libgmpx.a -pthread -o hello
 */
#include <gmpx.h>
#include <stdio.h>

static gx_waitgroup wg = GX_WAITGROUP_INIT;
static gx_mutex mu = GX_MUTEX_INIT;
static long total;

static void worker(void *arg)
{
	int n = *(int *)arg; /* our own copy, made by gx_go_copy */
	gx_sleep(n * GX_MS);
	gx_mutex_lock(&mu);
	total += n;
	gx_mutex_unlock(&mu);
	gx_wg_done(&wg);
}

static int hello_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (int i = 1; i <= 100; i++) {
		gx_wg_add(&wg, 1);
		gx_go_copy(worker, &i, sizeof(i));
	}
	gx_wg_wait(&wg);
	printf("hello from goroutine %lld: %d Ps, total %ld\n", (long long)gx_id(), gx_maxprocs(0), total);
	return total == 5050 ? 0 : 1;
}

int main(int argc, char **argv)
{
	gx_main(hello_main, argc, argv);
}
