"""The one-command demo: the whole stack on embedded defaults, with simulated gates."""
