/* SPDX-License-Identifier: MIT */
/*
 * harness.h - a small kselftest-style test harness for gmpx (header only).
 *
 * Design:
 *  - TEST()/TEST_F() register tests from constructors into one list shared by
 *    every translation unit (the shared state is a weak global, so any number
 *    of .c files may include this header and be linked together). Exactly one
 *    of them gets main() by defining HARNESS_MAIN before the #include, or by
 *    writing TEST_HARNESS_MAIN at file scope. Tests run in declaration order:
 *    by line inside a file, files in the order their constructors run (link
 *    order with GCC/Clang on Linux).
 *  - Each test runs in its own forked child. The runner waits with a timeout
 *    (default 60 s, times HARNESS_TIMEOUT_SCALE) and SIGKILLs a child that
 *    overruns. Child exit 0 = pass, 4 (KSFT_SKIP) = skip, any other exit or a
 *    signal = fail. A child that exits 0 after a failed EXPECT still fails:
 *    failures are also counted in memory shared with the runner.
 *  - Output is TAP 13 on stdout ("ok N name", "not ok N name # reason",
 *    "ok N name # SKIP reason", diagnostics start with "# "), then one plain
 *    line "N passed, N failed, N skipped". Exit status: 1 if anything failed.
 *  - Assertions never unwind, so they may run on ANY thread of the child (a
 *    goroutine's M, a helper pthread). A failed ASSERT_* prints to stderr,
 *    flushes stdio and _exit(1)s the whole child; a failed EXPECT_* prints and
 *    sets a process-wide atomic flag reported by harness_child_status(). SKIP
 *    _exit(4)s the child. Hence fixture teardowns do not run after a failed
 *    ASSERT or a SKIP.
 *  - A test body that ends the process itself (e.g. gx_main, whose main
 *    function's return value becomes the exit status) must end with
 *    `return harness_child_status();` or exit(harness_child_status()).
 *
 * Needs Linux and gnu11 (or _DEFAULT_SOURCE). Floating-point values should be
 * compared with ASSERT_TRUE: ASSERT_EQ & co. compare integers and pointers.
 */
#ifndef GMPX_SELFTEST_HARNESS_H
#define GMPX_SELFTEST_HARNESS_H

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KSFT_PASS		0
#define KSFT_FAIL		1
#define KSFT_SKIP		4
#define HARNESS_DEFAULT_TIMEOUT 60 /* seconds, before HARNESS_TIMEOUT_SCALE */

/* One registered test (static storage, created by TEST/TEST_F). */
struct harness_test {
	const char *name; /* "name", or "fixture.name" for TEST_F */
	void (*fn)(void);
	double timeout; /* seconds */
	const char *file;
	int line, tu, selected;
	struct harness_test *next;
};

/* Page shared (MAP_SHARED) between the runner and one test child. */
struct harness__shared {
	_Atomic int failures; /* EXPECT/ASSERT failures in the child */
	_Atomic int claimed;  /* reason[] written (first message wins) */
	char reason[496];
};

struct harness__state {
	struct harness_test *head;
	int ntu;
	_Atomic int failures;		/* failures in this process */
	struct harness__shared *shared; /* set only in a test child */
};
/* Weak: one instance however many translation units include this header. */
__attribute__((weak)) struct harness__state harness__st;
static int harness__tu __attribute__((unused)); /* rank of this file */

static inline void harness__register(struct harness_test *t, int *tu)
{
	struct harness_test **pp = &harness__st.head;

	if (!*tu)
		*tu = ++harness__st.ntu;
	t->tu = *tu;
	while (*pp && ((*pp)->tu < t->tu || ((*pp)->tu == t->tu && (*pp)->line <= t->line)))
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
}

#define HARNESS__REG(id, namestr, fnp, secs)                                                                         \
	static struct harness_test harness__t_##id = {namestr, fnp, (double)(secs), __FILE__, __LINE__, 0, 0, NULL}; \
	__attribute__((constructor)) static void harness__c_##id(void)                                               \
	{                                                                                                            \
		harness__register(&harness__t_##id, &harness__tu);                                                   \
	}

/* TEST(name) { body } - a test; runs in its own child process. */
#define TEST(name) TEST_TIMEOUT(name, HARNESS_DEFAULT_TIMEOUT)
/* TEST_TIMEOUT(name, seconds) { body } - TEST with its own timeout. */
#define TEST_TIMEOUT(name, secs)                                \
	static void harness__fn_##name(void);                   \
	HARNESS__REG(t_##name, #name, harness__fn_##name, secs) \
	static void harness__fn_##name(void)

/* FIXTURE(f) { members }; - the fixture's data; FIXTURE_DATA(f) is its type.
 * FIXTURE_SETUP(f) { } and FIXTURE_TEARDOWN(f) { } must both be defined; they
 * and TEST_F bodies see `FIXTURE_DATA(f) *self` (zeroed before setup). */
#define FIXTURE_DATA(f) struct harness__fixture_##f
#define FIXTURE(f)                                                 \
	FIXTURE_DATA(f);                                           \
	static void harness__setup_##f(FIXTURE_DATA(f) * self);    \
	static void harness__teardown_##f(FIXTURE_DATA(f) * self); \
	FIXTURE_DATA(f)
#define FIXTURE_SETUP(f)    static void harness__setup_##f(FIXTURE_DATA(f) * self __attribute__((unused)))
#define FIXTURE_TEARDOWN(f) static void harness__teardown_##f(FIXTURE_DATA(f) * self __attribute__((unused)))

/* TEST_F(f, name) { body } - setup, body, teardown in one child; the test is
 * called "f.name". TEST_F_TIMEOUT(f, name, seconds) sets its timeout. */
#define TEST_F(f, name) TEST_F_TIMEOUT(f, name, HARNESS_DEFAULT_TIMEOUT)
#define TEST_F_TIMEOUT(f, name, secs)                                                \
	static void harness__fb_##f##__##name(FIXTURE_DATA(f) * self);               \
	static void harness__fx_##f##__##name(void)                                  \
	{                                                                            \
		FIXTURE_DATA(f) harness__self;                                       \
		memset(&harness__self, 0, sizeof(harness__self));                    \
		harness__setup_##f(&harness__self);                                  \
		harness__fb_##f##__##name(&harness__self);                           \
		harness__teardown_##f(&harness__self);                               \
	}                                                                            \
	HARNESS__REG(f_##f##__##name, #f "." #name, harness__fx_##f##__##name, secs) \
	static void harness__fb_##f##__##name(FIXTURE_DATA(f) * self __attribute__((unused)))

/* ---- messages ---------------------------------------------------------- */

struct harness__msg {
	char s[1024];
	size_t n;
};

__attribute__((format(printf, 2, 0))) static inline void harness__vadd(struct harness__msg *m, const char *fmt,
								       va_list ap)
{
	int r;

	if (m->n >= sizeof(m->s) - 1)
		return;
	r = vsnprintf(m->s + m->n, sizeof(m->s) - m->n, fmt, ap);
	if (r > 0)
		m->n = m->n + (size_t)r < sizeof(m->s) - 1 ? m->n + (size_t)r : sizeof(m->s) - 1;
}

__attribute__((format(printf, 2, 3))) static inline void harness__add(struct harness__msg *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	harness__vadd(m, fmt, ap);
	va_end(ap);
}

/* Keep the first failure/skip message for the runner's TAP line. */
static inline void harness__record(const char *s)
{
	struct harness__shared *sh = harness__st.shared;
	size_t i;

	if (!sh || atomic_exchange(&sh->claimed, 1))
		return;
	for (i = 0; s[i] && i < sizeof(sh->reason) - 1; i++)
		sh->reason[i] = s[i] == '\n' ? ' ' : s[i];
	sh->reason[i] = '\0';
}

static inline void harness__fail(int fatal, const struct harness__msg *m)
{
	fprintf(stderr, "# %s\n", m->s);
	harness__record(m->s);
	atomic_fetch_add(&harness__st.failures, 1);
	if (harness__st.shared)
		atomic_fetch_add(&harness__st.shared->failures, 1);
	if (fatal) {
		fflush(stdout);
		fflush(stderr);
		_exit(KSFT_FAIL);
	}
}

/* harness_child_status - KSFT_FAIL (1) if an EXPECT failed in this process,
 * else KSFT_PASS (0): the exit status a test process should end with. */
static inline int harness_child_status(void)
{
	return atomic_load(&harness__st.failures) ? KSFT_FAIL : KSFT_PASS;
}

/* TH_LOG(fmt, ...) - print "# file:line: message" to stderr. */
#define TH_LOG(fmt, ...) harness__log(__FILE__, __LINE__, fmt, ##__VA_ARGS__)
__attribute__((format(printf, 3, 4))) static inline void harness__log(const char *file, int line, const char *fmt, ...)
{
	struct harness__msg m = {.n = 0};
	va_list ap;

	harness__add(&m, "%s:%d: ", file, line);
	va_start(ap, fmt);
	harness__vadd(&m, fmt, ap);
	va_end(ap);
	fprintf(stderr, "# %s\n", m.s);
}

/* SKIP(statement, fmt, ...) - end the test as skipped (exit 4) with a reason,
 * from any thread. `statement` (kselftest's "return") is never executed. */
#define SKIP(statement, fmt, ...) harness__skip(fmt, ##__VA_ARGS__)
__attribute__((noreturn, format(printf, 1, 2))) static inline void harness__skip(const char *fmt, ...)
{
	struct harness__msg m = {.n = 0};
	va_list ap;

	va_start(ap, fmt);
	harness__vadd(&m, fmt, ap);
	va_end(ap);
	if (harness__st.shared)
		harness__record(m.s);
	else
		fprintf(stderr, "# SKIP %s\n", m.s);
	fflush(stdout);
	fflush(stderr);
	_exit(KSFT_SKIP);
}

/* ---- assertions ---------------------------------------------------------- */

/* Operand kind: 1 signed integer (or floating), 0 unsigned, 2 pointer/other.
 * `1 ? (x) : 0` promotes bit-fields and small types and decays arrays; the
 * operand is not evaluated. */
#define HARNESS__KIND(x)                                                                             \
	_Generic(1 ? (x) : 0, int : 1, long : 1, long long : 1, unsigned int : 0, unsigned long : 0, \
		 unsigned long long : 0, float : 1, double : 1, long double : 1, default : 2)
/* The operand's value as uintmax_t bits (evaluated once). */
#define HARNESS__VAL(x) (HARNESS__KIND(x) == 1 ? (uintmax_t)(intmax_t)(x) : (uintmax_t)(x))

enum { HARNESS__EQ, HARNESS__NE, HARNESS__LT, HARNESS__LE, HARNESS__GT, HARNESS__GE };

static inline void harness__addval(struct harness__msg *m, uintmax_t v, int kind)
{
	if (kind == 1)
		harness__add(m, "%jd", (intmax_t)v);
	else if (kind == 0)
		harness__add(m, "%ju", v);
	else
		harness__add(m, "%#jx", v);
}

/* Compare mathematically: a negative signed value is below any unsigned one. */
static inline void harness__cmp(int fatal, const char *file, int line, int op, const char *ea, uintmax_t a, int ka,
				const char *eb, uintmax_t b, int kb)
{
	static const char *const ops[] = {"==", "!=", "<", "<=", ">", ">="};
	int an = ka == 1 && (intmax_t)a < 0, bn = kb == 1 && (intmax_t)b < 0;
	int c = an != bn ? (an ? -1 : 1) : (a > b) - (a < b);
	int ok = op == HARNESS__EQ   ? c == 0
		 : op == HARNESS__NE ? c != 0
		 : op == HARNESS__LT ? c < 0
		 : op == HARNESS__LE ? c <= 0
		 : op == HARNESS__GT ? c > 0
				     : c >= 0;
	struct harness__msg m = {.n = 0};

	if (ok)
		return;
	harness__add(&m, "%s:%d: expected ", file, line);
	harness__addval(&m, a, ka);
	harness__add(&m, " (%s) %s ", ea, ops[op]);
	harness__addval(&m, b, kb);
	harness__add(&m, " (%s)", eb);
	harness__fail(fatal, &m);
}

static inline void harness__bool(int fatal, const char *file, int line, const char *e, int want)
{
	struct harness__msg m = {.n = 0};

	harness__add(&m, "%s:%d: expected (%s) to be %s", file, line, e, want ? "true" : "false");
	harness__fail(fatal, &m);
}

static inline void harness__str(int fatal, const char *file, int line, int want_eq, const char *ea, const char *a,
				const char *eb, const char *b)
{
	struct harness__msg m = {.n = 0};

	if ((a && b ? strcmp(a, b) == 0 : a == b) == want_eq)
		return;
	harness__add(&m, "%s:%d: expected %s%s%s (%s) %s %s%s%s (%s)", file, line, a ? "\"" : "", a ? a : "NULL",
		     a ? "\"" : "", ea, want_eq ? "==" : "!=", b ? "\"" : "", b ? b : "NULL", b ? "\"" : "", eb);
	harness__fail(fatal, &m);
}

#define HARNESS__CMP(fatal, a, op, b)                                                                         \
	do {                                                                                                  \
		const uintmax_t harness__a = HARNESS__VAL(a), harness__b = HARNESS__VAL(b);                   \
		harness__cmp(fatal, __FILE__, __LINE__, op, #a, harness__a, HARNESS__KIND(a), #b, harness__b, \
			     HARNESS__KIND(b));                                                               \
	} while (0)
#define HARNESS__BOOL(fatal, x, want)                                       \
	do {                                                                \
		if (((x) ? 1 : 0) != (want))                                \
			harness__bool(fatal, __FILE__, __LINE__, #x, want); \
	} while (0)
#define HARNESS__BOOL_MSG(fatal, x, want, fmt, ...)                         \
	do {                                                                \
		if (((x) ? 1 : 0) != (want)) {                              \
			TH_LOG(fmt, ##__VA_ARGS__);                         \
			harness__bool(fatal, __FILE__, __LINE__, #x, want); \
		}                                                           \
	} while (0)
#define HARNESS__STR(fatal, a, want_eq, b)                                                          \
	do {                                                                                        \
		const char *harness__sa = (a), *harness__sb = (b);                                  \
		harness__str(fatal, __FILE__, __LINE__, want_eq, #a, harness__sa, #b, harness__sb); \
	} while (0)

/*
 * ASSERT_*: on failure print "# file:line: expected X (expr) OP Y (expr)" and
 * end the child with exit 1 (from any thread). EXPECT_*: print, count the
 * failure, continue. Each operand is evaluated exactly once. EQ/NE/LT/LE/GT/GE
 * take integers of any signedness (compared mathematically) or pointers.
 * STREQ/STRNE take C strings (NULL allowed). *_MSG add a TH_LOG line.
 */
#define ASSERT_EQ(a, b)		     HARNESS__CMP(1, a, HARNESS__EQ, b)
#define ASSERT_NE(a, b)		     HARNESS__CMP(1, a, HARNESS__NE, b)
#define ASSERT_LT(a, b)		     HARNESS__CMP(1, a, HARNESS__LT, b)
#define ASSERT_LE(a, b)		     HARNESS__CMP(1, a, HARNESS__LE, b)
#define ASSERT_GT(a, b)		     HARNESS__CMP(1, a, HARNESS__GT, b)
#define ASSERT_GE(a, b)		     HARNESS__CMP(1, a, HARNESS__GE, b)
#define ASSERT_NULL(p)		     HARNESS__CMP(1, p, HARNESS__EQ, NULL)
#define ASSERT_NOT_NULL(p)	     HARNESS__CMP(1, p, HARNESS__NE, NULL)
#define ASSERT_TRUE(x)		     HARNESS__BOOL(1, x, 1)
#define ASSERT_FALSE(x)		     HARNESS__BOOL(1, x, 0)
#define ASSERT_TRUE_MSG(x, fmt, ...) HARNESS__BOOL_MSG(1, x, 1, fmt, ##__VA_ARGS__)
#define ASSERT_STREQ(a, b)	     HARNESS__STR(1, a, 1, b)
#define ASSERT_STRNE(a, b)	     HARNESS__STR(1, a, 0, b)
#define EXPECT_EQ(a, b)		     HARNESS__CMP(0, a, HARNESS__EQ, b)
#define EXPECT_NE(a, b)		     HARNESS__CMP(0, a, HARNESS__NE, b)
#define EXPECT_LT(a, b)		     HARNESS__CMP(0, a, HARNESS__LT, b)
#define EXPECT_LE(a, b)		     HARNESS__CMP(0, a, HARNESS__LE, b)
#define EXPECT_GT(a, b)		     HARNESS__CMP(0, a, HARNESS__GT, b)
#define EXPECT_GE(a, b)		     HARNESS__CMP(0, a, HARNESS__GE, b)
#define EXPECT_NULL(p)		     HARNESS__CMP(0, p, HARNESS__EQ, NULL)
#define EXPECT_NOT_NULL(p)	     HARNESS__CMP(0, p, HARNESS__NE, NULL)
#define EXPECT_TRUE(x)		     HARNESS__BOOL(0, x, 1)
#define EXPECT_FALSE(x)		     HARNESS__BOOL(0, x, 0)
#define EXPECT_TRUE_MSG(x, fmt, ...) HARNESS__BOOL_MSG(0, x, 1, fmt, ##__VA_ARGS__)
#define EXPECT_STREQ(a, b)	     HARNESS__STR(0, a, 1, b)
#define EXPECT_STRNE(a, b)	     HARNESS__STR(0, a, 0, b)

/* ---- processes ------------------------------------------------------------ */

/* harness_timeout_scale - HARNESS_TIMEOUT_SCALE (a positive float), default 1. */
static inline double harness_timeout_scale(void)
{
	const char *s = getenv("HARNESS_TIMEOUT_SCALE");
	char *end;
	double v;

	if (!s || !*s)
		return 1.0;
	v = strtod(s, &end);
	return *end || !(v > 0) ? 1.0 : v;
}

static inline long long harness__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Reap pid into *status; SIGKILL it at deadline (ms) and return -ETIMEDOUT. */
static inline int harness__wait(pid_t pid, long long deadline, int *status)
{
	int pfd = -1, ret = 0;
	long backoff_us = 100;

#ifdef SYS_pidfd_open
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		long long left;

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		left = deadline - harness__now_ms();
		if (left <= 0) {
			kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			ret = -ETIMEDOUT;
			break;
		}
		if (pfd >= 0) {
			struct pollfd p = {.fd = pfd, .events = POLLIN};

			poll(&p, 1, left > 1000 ? 1000 : (int)left);
		} else {
			struct timespec ts = {0, backoff_us * 1000};

			nanosleep(&ts, NULL);
			backoff_us = backoff_us < 10000 ? backoff_us * 2 : backoff_us;
		}
	}
	if (pfd >= 0)
		close(pfd);
	return ret;
}

/*
 * harness_run_capture - fork a process running fn(arg) with its stdout and
 * stderr on a pipe; keep up to outsz-1 bytes of that output in out (always
 * NUL-terminated if outsz > 0; the rest is read and dropped) and its wait
 * status in *wstatus. When fn returns, the process exits with
 * harness_child_status() of its own (failures there do not count against
 * the calling test). After timeout_s seconds (<= 0: the default 60; scaled
 * by HARNESS_TIMEOUT_SCALE) it is SIGKILLed. Returns 0, -ETIMEDOUT (output
 * and status still stored) or -errno. Safe to call from any thread.
 */
static inline int harness_run_capture(void (*fn)(void *), void *arg, char *out, size_t outsz, int *wstatus,
				      int timeout_s)
{
	double secs = (timeout_s > 0 ? timeout_s : HARNESS_DEFAULT_TIMEOUT) * harness_timeout_scale();
	long long deadline = harness__now_ms() + (long long)(secs * 1000);
	int p[2], st = 0, ret;
	size_t n = 0;
	pid_t pid;

	if (out && outsz)
		out[0] = '\0';
	if (pipe(p) < 0)
		return -errno;
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(p[0]);
		close(p[1]);
		return ret;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		if (p[1] > STDERR_FILENO)
			close(p[1]);
		harness__st.shared = NULL;
		atomic_store(&harness__st.failures, 0);
		fn(arg);
		fflush(stdout);
		fflush(stderr);
		_exit(harness_child_status());
	}
	close(p[1]);
	for (;;) {
		long long left = deadline - harness__now_ms();
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		char junk[4096], *dst = junk;
		size_t room = sizeof(junk);
		ssize_t k;
		int r;

		if (left <= 0)
			break;
		r = poll(&pf, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r == 0 || (r < 0 && errno == EINTR))
			continue; /* the deadline check ends the loop */
		if (r < 0)
			break;
		if (out && n + 1 < outsz) {
			dst = out + n;
			room = outsz - 1 - n;
		}
		k = read(p[0], dst, room);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (dst != junk) {
			n += (size_t)k;
			out[n] = '\0';
		}
	}
	close(p[0]);
	ret = harness__wait(pid, deadline, &st);
	if (wstatus)
		*wstatus = st;
	return ret;
}

static inline const char *harness__signame(int sig)
{
#define HARNESS__SIG(x) \
	{               \
		x, #x   \
	}
	static const struct {
		int sig;
		const char *name;
	} t[] = {HARNESS__SIG(SIGHUP),	HARNESS__SIG(SIGINT),  HARNESS__SIG(SIGQUIT), HARNESS__SIG(SIGILL),
		 HARNESS__SIG(SIGTRAP), HARNESS__SIG(SIGABRT), HARNESS__SIG(SIGBUS),  HARNESS__SIG(SIGFPE),
		 HARNESS__SIG(SIGKILL), HARNESS__SIG(SIGUSR1), HARNESS__SIG(SIGSEGV), HARNESS__SIG(SIGUSR2),
		 HARNESS__SIG(SIGPIPE), HARNESS__SIG(SIGALRM), HARNESS__SIG(SIGTERM), HARNESS__SIG(SIGSYS)};
#undef HARNESS__SIG
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].sig == sig)
			return t[i].name;
	return NULL;
}

/* Run one test in a child; print its TAP line. Returns 0 pass, 1 fail, 2 skip. */
static inline int harness__run_one(struct harness_test *t, int idx, double scale, struct harness__shared *sh)
{
	double secs = t->timeout * scale;
	pid_t ppid = getpid(), pid;
	const char *why = "";
	char buf[64] = "";
	int st = 0, r, res = 1;

	atomic_store(&sh->failures, 0);
	atomic_store(&sh->claimed, 0);
	sh->reason[0] = '\0';
	printf("# RUN %s\n", t->name);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != ppid)
			_exit(KSFT_FAIL);
		harness__st.shared = sh;
		t->fn();
		exit(harness_child_status());
	}
	r = pid < 0 ? -errno : harness__wait(pid, harness__now_ms() + (long long)(secs * 1000), &st);
	if (r == -ETIMEDOUT) {
		snprintf(buf, sizeof(buf), "timeout after %g s", secs);
		why = buf;
	} else if (r < 0) {
		why = strerror(-r);
	} else if (WIFSIGNALED(st)) {
		const char *name = harness__signame(WTERMSIG(st));

		if (name)
			snprintf(buf, sizeof(buf), "killed by signal %s", name);
		else
			snprintf(buf, sizeof(buf), "killed by signal %d", WTERMSIG(st));
		why = buf;
	} else if (atomic_load(&sh->failures) || (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != KSFT_SKIP)) {
		snprintf(buf, sizeof(buf), "exit code %d", WEXITSTATUS(st));
		why = sh->reason[0] ? sh->reason : buf;
	} else {
		res = WEXITSTATUS(st) == KSFT_SKIP ? 2 : 0;
	}
	if (res == 0)
		printf("ok %d %s\n", idx, t->name);
	else if (res == 2)
		printf("ok %d %s # SKIP %s\n", idx, t->name, sh->reason);
	else
		printf("not ok %d %s # %s\n", idx, t->name, why);
	fflush(stdout);
	return res;
}

/*
 * harness_main - the runner: harness_main(argc, argv) parses
 *   -t NAME   run the test NAME (repeatable; "fixture.name" for TEST_F)
 *   -f SUBSTR run tests whose name contains SUBSTR (repeatable)
 *   -l        list the (selected) tests instead of running them
 * No -t/-f: every test. Returns the process exit status (0: no failures).
 */
static inline int harness_main(int argc, char **argv)
{
	struct harness__shared *sh;
	struct harness_test *t;
	int opt, list = 0, filtered = 0, n = 0, idx = 0, res[3] = {0, 0, 0};

	while ((opt = getopt(argc, argv, "t:f:lh")) != -1) {
		int hit = 0;

		switch (opt) {
		case 't':
		case 'f':
			filtered = 1;
			for (t = harness__st.head; t; t = t->next)
				if (opt == 't' ? !strcmp(t->name, optarg) : !!strstr(t->name, optarg))
					hit = t->selected = 1;
			if (!hit && opt == 't') {
				fprintf(stderr, "%s: no test named '%s'\n", argv[0], optarg);
				return 2;
			}
			break;
		case 'l':
			list = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-l] [-t NAME]... [-f SUBSTR]...\n", argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	for (t = harness__st.head; t; t = t->next) {
		t->selected |= !filtered;
		n += t->selected;
		if (list && t->selected)
			printf("%s\n", t->name);
	}
	if (list)
		return 0;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	printf("TAP version 13\n1..%d\n", n);
	for (t = harness__st.head; t; t = t->next)
		if (t->selected)
			res[harness__run_one(t, ++idx, harness_timeout_scale(), sh)]++;
	printf("%d passed, %d failed, %d skipped\n", res[0], res[1], res[2]);
	fflush(stdout);
	munmap(sh, sizeof(*sh));
	return res[1] ? 1 : 0;
}

/* TEST_HARNESS_MAIN - define main() here (or #define HARNESS_MAIN before the
 * #include); exactly one translation unit of a test binary does this. */
#define TEST_HARNESS_MAIN                        \
	int main(int argc, char **argv)          \
	{                                        \
		return harness_main(argc, argv); \
	}
#ifdef HARNESS_MAIN
TEST_HARNESS_MAIN
#endif

#endif /* GMPX_SELFTEST_HARNESS_H */
