//! sqlx errors sorted into the classes of [`StoreError`].

use ampere_domain::StoreError;

/// Maps a sqlx error to the store error class a caller can act on.
pub fn map_sqlx(e: sqlx::Error) -> StoreError {
    use sqlx::Error as E;
    match e {
        E::Database(db) => {
            if db.is_unique_violation() || db.is_foreign_key_violation() || db.is_check_violation()
            {
                return StoreError::Conflict(db.to_string());
            }
            // SQLite: SQLITE_BUSY (5) and SQLITE_LOCKED (6), also extended codes (low byte).
            // PostgreSQL: class 08 (connection), 53 (insufficient resources), 57P (shutdown).
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let sqlite_busy = code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6));
            let pg_unavailable =
                code.starts_with("08") || code.starts_with("53") || code.starts_with("57P");
            if sqlite_busy || pg_unavailable {
                StoreError::Unavailable(db.to_string())
            } else {
                StoreError::Other(db.to_string())
            }
        }
        E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::WorkerCrashed => {
            StoreError::Unavailable(e.to_string())
        }
        E::ColumnDecode { .. } | E::Decode(_) | E::ColumnNotFound(_) | E::TypeNotFound { .. } => {
            StoreError::Corrupt(e.to_string())
        }
        other => StoreError::Other(other.to_string()),
    }
}
