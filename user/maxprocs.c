/* SPDX-License-Identifier: MIT */
/*
 * maxprocs.c - the default GOMAXPROCS, as Go 1.25 computes it.
 *
 *   procs = CPUs in sched_getaffinity();
 *   if the process's CPU cgroup has a bandwidth limit (v2 cpu.max
 *   "QUOTA PERIOD", v1 cpu.cfs_quota_us / cpu.cfs_period_us):
 *       procs = min(procs, max(2, ceil(QUOTA / PERIOD)))
 * Like Go, only the leaf cgroup that contains the process is read (container
 * runtimes hide the parents anyway), fractional limits round up, and a limit
 * never lowers the default below 2.
 *
 * Where to look is overridable so tests can use a fake hierarchy:
 *   GX_CGROUP_ROOT   the cgroup mount point (default /sys/fs/cgroup); v1
 *                    controllers are looked up as ROOT/cpu,cpuacct/... or
 *                    ROOT/cpu/...
 *   GX_CGROUP_PROCFILE  the membership file (default /proc/self/cgroup)
 * GX_MAXPROCS (read in gx_main) overrides all of this.
 */
#include "runtime.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool readfile(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = 0;
	return n > 0;
}

/* parse1 - one decimal integer (surrounding blanks allowed). */
static bool parse1(const char *s, long long *v)
{
	char *end;
	errno = 0;
	*v = strtoll(s, &end, 10);
	while (*end == ' ' || *end == '\n')
		end++;
	return end != s && *end == 0 && errno == 0;
}

/* parse2 - "QUOTA PERIOD" (cgroup v2 cpu.max). */
static bool parse2(const char *s, long long *a, long long *b)
{
	char *end;
	errno = 0;
	*a = strtoll(s, &end, 10);
	if (end == s || *end != ' ' || errno)
		return false;
	return parse1(end + 1, b);
}

/* gx_cgroup_limit - the CPU limit in CPUs (ceil), or 0 if there is none. */
int gx_cgroup_limit(void)
{
	const char *root = getenv("GX_CGROUP_ROOT");
	const char *procfile = getenv("GX_CGROUP_PROCFILE");
	if (!root || !*root)
		root = "/sys/fs/cgroup";
	if (!procfile || !*procfile)
		procfile = "/proc/self/cgroup";
	char membership[4096];
	if (!readfile(procfile, membership, sizeof(membership)))
		return 0;

	char path[8192], buf[256];
	for (char *line = strtok(membership, "\n"); line; line = strtok(NULL, "\n")) {
		/* "ID:CONTROLLERS:PATH" */
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c1 = *c2 = 0;
		const char *ctrls = c1 + 1, *cg = c2 + 1;
		if (strcmp(line, "0") == 0 && *ctrls == 0) { /* v2 unified */
			snprintf(path, sizeof(path), "%s%s/cpu.max", root, cg);
			if (!readfile(path, buf, sizeof(buf)))
				continue;
			long long quota, period;
			if (strncmp(buf, "max", 3) == 0 || !parse2(buf, &quota, &period) || quota <= 0 || period <= 0)
				return 0;
			return (int)((quota + period - 1) / period);
		}
		/* v1: the line whose controller list contains "cpu" */
		char list[256];
		snprintf(list, sizeof(list), ",%s,", ctrls);
		if (!strstr(list, ",cpu,"))
			continue;
		const char *dirs[] = {ctrls, "cpu,cpuacct", "cpu"};
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			long long quota = 0, period = 0;
			snprintf(path, sizeof(path), "%s/%s%s/cpu.cfs_quota_us", root, dirs[i], cg);
			if (!readfile(path, buf, sizeof(buf)) || !parse1(buf, &quota))
				continue;
			snprintf(path, sizeof(path), "%s/%s%s/cpu.cfs_period_us", root, dirs[i], cg);
			if (!readfile(path, buf, sizeof(buf)) || !parse1(buf, &period))
				continue;
			if (quota <= 0 || period <= 0)
				return 0; /* -1: unlimited */
			return (int)((quota + period - 1) / period);
		}
	}
	return 0;
}

int gx_default_maxprocs(void)
{
	cpu_set_t set;
	int procs = 1;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		procs = CPU_COUNT(&set);
	if (procs < 1)
		procs = 1;
	int limit = gx_cgroup_limit();
	if (limit > 0) {
		if (limit < 2)
			limit = 2;
		if (limit < procs)
			procs = limit;
	}
	if (procs > GX_MAXPROCS_LIMIT)
		procs = GX_MAXPROCS_LIMIT;
	return procs;
}
