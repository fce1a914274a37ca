"""One module per ``l4agent`` subcommand; ``common`` holds the options they all share."""
