# SPDX-License-Identifier: MIT
"""The benchmark runner's parts (tools/bench/run.py is its command line):
util (paths, options), build (program sets), workloads and model (the
table's entries), impls (its columns), servers (server workloads'
drivers), host and vm (the two places a run happens), report and plots."""
