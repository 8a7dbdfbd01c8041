"""Connect (issue 20, part 4): a platform's transfers to its connected accounts and their
reversals (docs/settlement.md, "Platforms (Connect)"). Connected accounts themselves are
merchants (``merchants.connected``)."""
