"""NovaCron Partner SDK."""
