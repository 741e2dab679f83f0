"""Channel adapters: one module per platform (REST, terminal; Telegram and web chat come next)."""
