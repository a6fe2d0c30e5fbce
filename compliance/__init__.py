"""uccx-compliance: checks the Exchange settings that Cisco UCCX email integration depends on."""

__version__ = "0.1.0"
