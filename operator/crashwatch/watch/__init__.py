"""The live operator: watch handlers feeding the diagnosis core, and what it publishes."""
