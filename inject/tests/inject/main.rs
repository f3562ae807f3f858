//! kubectl-guillotine's integration tests: one binary, a file per behaviour.
