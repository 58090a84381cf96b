//! Raw SQL written once for both databases: SQLite and PostgreSQL differ in
//! how a statement numbers its bind parameters.

/// Rewrites `?` placeholders as `$1, $2, …` for PostgreSQL.
pub fn placeholders(backend: sea_orm::DbBackend, sql: &str) -> String {
    if backend != sea_orm::DbBackend::Postgres {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// `sql`, written with `?` placeholders, as a statement in the dialect of
/// `db`'s backend.
pub fn statement<C: sea_orm::ConnectionTrait + ?Sized>(
    db: &C,
    sql: &str,
    values: impl IntoIterator<Item = sea_orm::Value>,
) -> sea_orm::Statement {
    let backend = db.get_database_backend();
    sea_orm::Statement::from_sql_and_values(backend, placeholders(backend, sql), values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_for_postgres_only() {
        let sql = "SELECT ? , ?";
        assert_eq!(
            placeholders(sea_orm::DbBackend::Postgres, sql),
            "SELECT $1 , $2"
        );
        assert_eq!(placeholders(sea_orm::DbBackend::Sqlite, sql), sql);
    }
}
