"""The worker: claims queued submissions, runs them in the sandbox, grades and records them."""
