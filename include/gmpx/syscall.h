/* SPDX-License-Identifier: MIT */
/*
 * gmpx/syscall.h - calls that block the thread, without stalling the other
 * goroutines (Go's entersyscall/exitsyscall). Included by gmpx.h.
 *
 * Around a call that may block the OS thread, tell the runtime: the P is
 * then handed to another thread if the call blocks (sysmon notices within
 * about 20 us when the P has other work; see README), and the goroutine
 * gets a P back when the call returns. Between enter and exit only the
 * blocking call itself may run: no gx_ calls.
 *
 *   ssize_t n = GX_SYSCALL(read(fd, buf, len));   // errno preserved
 *
 * The wrappers below do this for common calls on regular files and
 * processes; they return the result or -errno, retry EINTR and never return
 * -EINTR. (Sockets and pipes should use the netpoller's gx_read/gx_write,
 * which park the goroutine instead of the thread.) Outside a goroutine they
 * are plain calls.
 */
#ifndef GMPX_SYSCALL_H
#define GMPX_SYSCALL_H

#include <gmpx.h>
#include <sys/types.h>

struct stat;

#ifdef __cplusplus
extern "C" {
#endif

/* gx_syscall_enter - about to block the thread. [G] 0 or -EPERM. */
int gx_syscall_enter(void);
/* gx_syscall_enter_block - about to block for long: the P is handed off at
 * once (Go's entersyscallblock). [G] 0 or -EPERM. */
int gx_syscall_enter_block(void);
/* gx_syscall_exit - back; preserves errno. 0, or -EPERM if not in a syscall. */
int gx_syscall_exit(void);

/* GX_SYSCALL(expr) - evaluate expr between gx_syscall_enter and _exit;
 * errno after it is the one expr left. */
#define GX_SYSCALL(expr)                            \
	__extension__({                             \
		int gx_sc_in_ = gx_syscall_enter(); \
		__typeof__(expr) gx_sc_r_ = (expr); \
		if (gx_sc_in_ == 0)                 \
			gx_syscall_exit();          \
		gx_sc_r_;                           \
	})

ssize_t gx_sys_read(int fd, void *buf, size_t n);
ssize_t gx_sys_write(int fd, const void *buf, size_t n);
ssize_t gx_sys_pread(int fd, void *buf, size_t n, off_t off);
ssize_t gx_sys_pwrite(int fd, const void *buf, size_t n, off_t off);
int gx_sys_fsync(int fd);
int gx_sys_open(const char *path, int flags, ...);
int gx_sys_stat(const char *path, struct stat *st);
/* waitpid hands the P off at once unless WNOHANG. */
pid_t gx_sys_waitpid(pid_t pid, int *status, int options);
/* gx_sys_sleep - block the thread (not just the goroutine) for ns; hands
 * the P off at once. For code that must hold its thread; gx_sleep is what
 * goroutines normally want. */
int gx_sys_sleep(int64_t ns);

#ifdef __cplusplus
}
#endif
#endif /* GMPX_SYSCALL_H */
