"""The rules & confidence gate: versioned policy (YAML) + small named rules -> a Decision with every reason."""
