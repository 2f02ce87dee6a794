#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# runq_model.sh - run the interleaving model of user/runq.c and prove that it
# can fail: build selftests/runq_model.c against the real runq.c (every
# scenario must pass), then against deliberately broken copies of runq.c made
# with sed (every mutant must be reported as a VIOLATION: a lost or
# duplicated G, or a gx_fatal), and against one equivalent rewrite that must
# still pass (a control against false alarms).
#
# usage: selftests/runq_model.sh          (from any directory)
#   CC (default gcc), BUILD (default <repo>/build) and RUNQ_C (the runq.c
#   to check, default <repo>/user/runq.c) may be set.
# Prints one TAP line per check and "N passed, N failed" last; exits 0 only
# if the real code passes, every mutant is caught and the control passes.
#
# Mutants run with preemption bound 3 (-b 3) to stay fast: each of them is
# caught well within it.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
out=${BUILD:-$root/build}/runq_model.d
CC=${CC:-gcc}
cflags=(-std=gnu11 -O1 -g -Wall -Wextra -Werror -I "$root/include" -I "$root/user")
src=${RUNQ_C:-$root/user/runq.c} # RUNQ_C: check another copy of runq.c
mkdir -p "$out"

passed=0
failed=0
n=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }

build() { # build <exe> [extra cflags...]
	local exe=$1
	shift
	"$CC" "${cflags[@]}" "$@" "$root/selftests/runq_model.c" "$root/user/arch/x86_64/ctx.S" -o "$exe"
}

echo "TAP version 13"
start=$(date +%s%N)

# 1. The real code: every scenario with its own preemption bound.
if build "$out/runq_model" -DRUNQ_SRC="\"$src\""; then
	"$out/runq_model" >"$out/real.log" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "real runq.c: ${line#ok * - }" ;;
		"not ok "*) notok "real runq.c: ${line#not ok * - }" ;;
		esac
	done <"$out/real.log"
	if [ $rc -ne 0 ]; then
		grep '^#' "$out/real.log" | head -200
		grep -q '^not ok' "$out/real.log" || notok "real runq.c: runq_model exited $rc"
	fi
else
	notok "real runq.c: runq_model does not build"
fi

# 2. Mutants: name|sed script|what it breaks. Each must be caught.
mutants=(
	'grab_cas_before_copy|s/^\(\t*\)for (uint32_t i = 0; i < n; i++) {$/\1if (!CAS_REL(\&victim->runqhead, \&h, h + n))\n\1\tcontinue;\n&/;s/if (CAS_REL(&victim->runqhead, &h, h + n))/if (1)/|runqgrab claims the slots (CAS on head) before copying them: the owner may refill them first'
	'grab_no_half_check|/^static uint32_t runqgrab(/,/^}/{/if (n > GX_RUNQ_SIZE \/ 2)/,+1d}|runqgrab trusts a head/tail pair read at different times: a stale, too large count overruns the thief'"'"'s own ring'
	'put_tail_before_slot|/STORE_RLX(&pp->runq\[t \& RUNQ_MASK\], gp);/{h;d};/STORE_REL(&pp->runqtail, t + 1);/G|runqput publishes the tail before writing the slot'
	'get_runnext_no_cas|s/next != NULL \&\& CAS_REL(&pp->runnext, &next, NULL)/next != NULL \&\& (STORE_RLX(\&pp->runnext, NULL), 1)/|runqget takes runnext with a plain store instead of a CAS'
	'put_runnext_no_cas|s/while (!CAS_REL(&pp->runnext, &old, gp))/while (!(STORE_RLX(\&pp->runnext, gp), 1))/|runqput(next) swaps runnext with a plain store: a G a thief just took is kicked to the ring too'
	'putslow_ignore_cas|s/if (!CAS_REL(&pp->runqhead, &h, h + n))/if ((CAS_REL(\&pp->runqhead, \&h, h + n), 0))/|runqputslow spills its batch even when its CAS on head failed'
	'get_ignore_cas|/^gx_g \*gx_runqget(/,/^}/s/if (CAS_REL(&pp->runqhead, &h, h + 1))/if ((CAS_REL(\&pp->runqhead, \&h, h + 1), 1))/|runqget returns the slot even when its CAS on head failed'
	'grab_runnext_no_cas|s/if (!CAS_REL(&victim->runnext, &next, NULL))/if ((STORE_RLX(\&victim->runnext, NULL), 0))/|runqgrab takes runnext with a plain store instead of a CAS'
)
for m in "${mutants[@]}"; do
	name=${m%%|*}
	rest=${m#*|}
	script=${rest%|*}
	what=${rest##*|}
	mc=$out/mut_$name.c
	sed -e "$script" "$src" >"$mc"
	if cmp -s "$src" "$mc"; then
		notok "mutant $name: sed did not change runq.c (pattern stale?)"
		continue
	fi
	if ! build "$out/mut_$name" -DRUNQ_SRC="\"$mc\"" 2>"$out/mut_$name.build.log"; then
		notok "mutant $name: does not build"
		head -20 "$out/mut_$name.build.log" | sed 's/^/# /'
		continue
	fi
	timeout 120 "$out/mut_$name" -b 3 >"$out/mut_$name.log" 2>&1
	rc=$?
	v=$(grep -m1 '^# VIOLATION' "$out/mut_$name.log")
	if [ $rc -eq 1 ] && [ -n "$v" ]; then
		ok "mutant $name caught: ${v#\# VIOLATION in }  ($what)"
	else
		notok "mutant $name NOT caught (exit $rc): $what"
	fi
done

# 3. Control: an equivalent rewrite must not be flagged. runqget reading the
# slot after its CAS is still correct, because runqget runs only on the
# owner, the only writer of its ring's slots.
mc=$out/ctl_get_read_after_cas.c
sed -e '/^gx_g \*gx_runqget(/,/^}/{/gx_g \*gp = LOAD_RLX(&pp->runq\[h & RUNQ_MASK\]);/d;s/return gp;/return LOAD_RLX(\&pp->runq[h \& RUNQ_MASK]);/}' "$src" >"$mc"
if cmp -s "$src" "$mc"; then
	notok "control get_read_after_cas: sed did not change runq.c"
elif build "$out/ctl_get_read_after_cas" -DRUNQ_SRC="\"$mc\"" 2>"$out/ctl.build.log" &&
	"$out/ctl_get_read_after_cas" -b 3 >"$out/ctl.log" 2>&1; then
	ok "control get_read_after_cas passes (equivalent: only the owner writes its slots)"
else
	notok "control get_read_after_cas flagged or failed to build"
	grep -m1 '^# VIOLATION' "$out/ctl.log" 2>/dev/null
fi

ms=$((($(date +%s%N) - start) / 1000000))
printf '# total %d.%03d s\n' $((ms / 1000)) $((ms % 1000))
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
