"""Payment intents, charges, balance transactions and the balance: the money path."""
