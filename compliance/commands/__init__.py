"""The subcommands of ``uccx-compliance``: one module each (HELP, add_arguments, run)."""
