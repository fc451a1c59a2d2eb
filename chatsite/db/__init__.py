"""PostgreSQL backend that carries the row-level security context (see chatsite.rls)."""
