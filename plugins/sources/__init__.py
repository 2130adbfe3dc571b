"""plugins sources package."""
