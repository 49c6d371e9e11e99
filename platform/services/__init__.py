"""Services: the platform's operations, taking ids and plain values, each owning its transaction."""
