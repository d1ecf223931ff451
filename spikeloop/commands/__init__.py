"""One module per CLI sub-command. Each defines ``register(subparsers)``, which adds its parser and
sets ``func`` (a function of the parsed args returning an exit status). The CLI finds them all."""
