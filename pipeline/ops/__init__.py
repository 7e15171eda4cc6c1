"""Operations tooling: broker connectivity/security checks and the drift report."""
