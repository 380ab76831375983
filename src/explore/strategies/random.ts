// The random strategy (the default): first come, first served, a preemption
// with probability 1/24 at each user step while another thread waits, and a
// timing draw uniform in 1..4 per step. Each seed is one run; no guarantee
// beyond that: a bug whose window is hit with probability p is found in
// about 1/p seeds. It is the kernel's own chooser (randomChooser): a run of
// seed S is the run `ktrace record --seed S` has always recorded.

export { randomChooser } from "../../kernel/index.ts";
