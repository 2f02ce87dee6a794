/* SPDX-License-Identifier: MIT */
/*
 * harness_selftest.c - tests of selftests/harness.h itself.
 * Several tests here are MEANT to fail, time out or skip; harness_selftest.sh
 * runs the binary and checks every TAP line and the summary.
 */
#define HARNESS_MAIN
#include "harness.h"

#include <pthread.h>
#include <stdbool.h>

TEST(pass_basic)
{
	int i = 0;

	ASSERT_EQ(1, 1);
	ASSERT_NE(1, 2);
	ASSERT_LT(1, 2);
	ASSERT_LE(2, 2);
	ASSERT_GT(3, 2);
	ASSERT_GE(3, 3);
	ASSERT_TRUE(1 + 1 == 2);
	ASSERT_FALSE(0);
	ASSERT_STREQ("abc", "abc");
	ASSERT_STRNE("abc", "abd");
	ASSERT_STRNE(NULL, "abc");
	ASSERT_TRUE_MSG(i == 0, "i is %d", i);
	/* Each operand is evaluated exactly once. */
	ASSERT_EQ(i++, 0);
	ASSERT_EQ(i, 1);
	EXPECT_EQ(++i, 2);
	EXPECT_EQ(i, 2);
	TH_LOG("a diagnostic line %d", i);
	TH_LOG("another");
}

enum color { RED, GREEN };
struct bits {
	int s : 3;
	unsigned u : 3;
};

TEST(pass_mixed_types)
{
	int m1 = -1, x = 5, *p = &x, *np = NULL, arr[2] = {0, 0};
	unsigned int u1 = 1;
	size_t big = SIZE_MAX;
	const long cl = -5;
	char c = 'a';
	unsigned char uc = 200;
	bool b = true;
	enum color col = GREEN;
	struct bits bf = {-2, 5};
	int64_t i64 = INT64_MIN;
	uint64_t u64 = UINT64_MAX;

	/* Mixed signedness compares mathematically, without warnings. */
	ASSERT_LT(m1, u1);
	ASSERT_GT(big, m1);
	ASSERT_NE(m1, big);
	ASSERT_LT(i64, u64);
	ASSERT_GT(u64, i64);
	ASSERT_LE(cl, -5);
	ASSERT_EQ(c, 'a');
	ASSERT_EQ(uc, 200);
	ASSERT_GT(uc, m1);
	ASSERT_EQ(b, 1);
	ASSERT_EQ(col, GREEN);
	ASSERT_EQ(bf.s, -2);
	ASSERT_EQ(bf.u, 5);
	ASSERT_LT(bf.s, bf.u);
	ASSERT_EQ(sizeof(int), 4);
	/* Pointers. */
	ASSERT_EQ(p, &x);
	ASSERT_NE(p, np);
	ASSERT_NOT_NULL(p);
	ASSERT_NULL(np);
	ASSERT_NULL(NULL);
	ASSERT_EQ(np, NULL);
	ASSERT_EQ(arr, &arr[0]);
	ASSERT_LT(&arr[0], &arr[1]);
}

TEST(child_status_ok)
{
	ASSERT_EQ(harness_child_status(), 0);
	exit(harness_child_status());
}

TEST(expect_fails)
{
	EXPECT_EQ(1 + 1, 3);
	EXPECT_TRUE(1);
	printf("reached the end after EXPECT\n");
}

static void *expect_thread(void *arg)
{
	(void)arg;
	EXPECT_STREQ("left", "right");
	return NULL;
}

TEST(expect_from_thread)
{
	pthread_t th;

	ASSERT_EQ(pthread_create(&th, NULL, expect_thread, NULL), 0);
	ASSERT_EQ(pthread_join(th, NULL), 0);
	ASSERT_EQ(harness_child_status(), 1);
}

static void *assert_thread(void *arg)
{
	(void)arg;
	ASSERT_EQ(7, 8);
	return NULL;
}

TEST(assert_from_thread)
{
	pthread_t th;

	ASSERT_EQ(pthread_create(&th, NULL, assert_thread, NULL), 0);
	pthread_join(th, NULL);
	printf("UNREACHABLE after assert_from_thread\n");
}

/* A test body that ends the process itself and ignores its EXPECTs. */
TEST(expect_then_exit0)
{
	EXPECT_FALSE(1);
	exit(0);
}

TEST(skip_me)
{
	SKIP(return, "not supported here (%d)", 42);
	printf("UNREACHABLE after SKIP\n");
}

static void *skip_thread(void *arg)
{
	(void)arg;
	SKIP(return NULL, "skipped from a thread");
}

TEST(skip_from_thread)
{
	pthread_t th;

	ASSERT_EQ(pthread_create(&th, NULL, skip_thread, NULL), 0);
	pthread_join(th, NULL);
	printf("UNREACHABLE after skip_from_thread\n");
}

TEST_TIMEOUT(timeout_sleep, 1)
{
	sleep(30);
}

TEST(crash_segv)
{
	raise(SIGSEGV);
}

TEST(exit_code)
{
	exit(3);
}

FIXTURE(fx)
{
	int setup_ran;
	int value;
	char *heap;
};

FIXTURE_SETUP(fx)
{
	ASSERT_EQ(self->value, 0); /* zeroed */
	self->setup_ran = 1;
	self->value = 42;
	self->heap = strdup("fixture");
}

FIXTURE_TEARDOWN(fx)
{
	free(self->heap);
	printf("teardown ran for value %d\n", self->value);
}

TEST_F(fx, uses_setup)
{
	ASSERT_EQ(self->setup_ran, 1);
	ASSERT_EQ(self->value, 42);
	ASSERT_STREQ(self->heap, "fixture");
	self->value = 7;
}

TEST_F(fx, unused_self)
{
}

TEST_F_TIMEOUT(fx, with_timeout, 10)
{
	ASSERT_EQ(self->value, 42);
}

FIXTURE(fx_skip)
{
	int unused;
};

FIXTURE_SETUP(fx_skip)
{
	SKIP(return, "setup skips");
}

FIXTURE_TEARDOWN(fx_skip)
{
	printf("UNREACHABLE fx_skip teardown\n");
}

TEST_F(fx_skip, body)
{
	printf("UNREACHABLE fx_skip body\n");
}

static void print_and_exit(void *arg)
{
	printf("to-stdout %s\n", (const char *)arg);
	fprintf(stderr, "to-stderr\n");
	exit(7);
}

TEST(capture_exit_code)
{
	char out[256];
	int st = -1;

	ASSERT_EQ(harness_run_capture(print_and_exit, "arg", out, sizeof(out), &st, 10), 0);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 7);
	ASSERT_NOT_NULL(strstr(out, "to-stdout arg\n"));
	ASSERT_NOT_NULL(strstr(out, "to-stderr\n"));
}

static void failing_assert(void *arg)
{
	(void)arg;
	ASSERT_EQ(2, 3);
}

TEST(capture_assert)
{
	char out[256];
	int st = -1;

	ASSERT_EQ(harness_run_capture(failing_assert, NULL, out, sizeof(out), &st, 10), 0);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 1);
	ASSERT_NOT_NULL(strstr(out, "expected 2 (2) == 3 (3)"));
	/* The grandchild's failure is not the test's. */
	ASSERT_EQ(harness_child_status(), 0);
}

static void self_signal(void *arg)
{
	(void)arg;
	raise(SIGTERM);
}

TEST(capture_signal)
{
	int st = -1;

	ASSERT_EQ(harness_run_capture(self_signal, NULL, NULL, 0, &st, 10), 0);
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ(WTERMSIG(st), SIGTERM);
}

static void sleeper(void *arg)
{
	(void)arg;
	printf("going to sleep\n");
	fflush(stdout);
	sleep(30);
}

TEST(capture_timeout)
{
	char out[64];
	int st = -1;

	ASSERT_EQ(harness_run_capture(sleeper, NULL, out, sizeof(out), &st, 1), -ETIMEDOUT);
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ(WTERMSIG(st), SIGKILL);
	ASSERT_STREQ(out, "going to sleep\n");
}

static void chatty(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 100000; i++)
		putchar('x');
}

TEST(capture_truncate)
{
	char out[16];
	int st = -1;

	ASSERT_EQ(harness_run_capture(chatty, NULL, out, sizeof(out), &st, 10), 0);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	ASSERT_EQ(strlen(out), sizeof(out) - 1);
}

static void returns_ok(void *arg)
{
	(void)arg;
}

static void returns_after_expect(void *arg)
{
	(void)arg;
	EXPECT_NE(1, 1);
}

TEST(capture_return)
{
	char out[256];
	int st = -1;

	ASSERT_EQ(harness_run_capture(returns_ok, NULL, out, sizeof(out), &st, 10), 0);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	ASSERT_STREQ(out, "");
	ASSERT_EQ(harness_run_capture(returns_after_expect, NULL, out, sizeof(out), &st, 10), 0);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 1);
	ASSERT_NOT_NULL(strstr(out, "expected 1 (1) != 1 (1)"));
	ASSERT_EQ(harness_child_status(), 0);
}

TEST(stdout_once)
{
	printf("MARKER-ONCE\n"); /* stdout is a pipe: flushed by exit() */
}

TEST(last_pass)
{
	EXPECT_TRUE(true);
}
