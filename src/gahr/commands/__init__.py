"""One module per `gahr` subcommand; each defines `register(subparsers)`."""
