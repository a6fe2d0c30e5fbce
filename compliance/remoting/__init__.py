"""Live reads over WinRM/PSRP with pypsrp: sessions, batched reads, error lines, conversion."""
