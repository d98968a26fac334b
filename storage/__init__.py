"""How the product keeps what it knows: SQLModel tables, queries and migrations."""
