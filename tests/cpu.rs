// The harness's integration tests whose figures are CPU time (the budget's vCPU per request).
// They run in a binary of their own, after the suite, so that no other test's load is
// counted in their vCPU: Viceroy's count grows when the machine is busy.

mod common;

mod budget;
