"""The sandbox: hardened execution of untrusted notebooks."""
