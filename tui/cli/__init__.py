"""The ``stopline`` command line: one module per command, one for output, one for exit codes."""
