"""Everything that talks to the API server: reads of logs, writes of annotations,
Events and patches. Idempotent writes, bounded retries."""
