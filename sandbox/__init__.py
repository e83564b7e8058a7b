"""The NovaCron sandbox: a runnable emulation of the NovaCron platform (Partner API, OAuth, webhooks)."""
