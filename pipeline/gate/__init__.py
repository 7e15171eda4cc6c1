"""The rules & confidence gate: versioned YAML policy + small named rules -> a Decision with every reason."""
