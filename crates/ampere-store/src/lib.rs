//! The domain ports on SQLite and PostgreSQL, with migrations and a contract test suite.
