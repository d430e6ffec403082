//! Named parameters (`:name`) in report SQL, turned into the backend's positional placeholders so
//! values are always bound, never spliced into the text.

use crate::store::Backend;

/// The SQL with `:name` replaced by `?N` (SQLite) or `$N` (Postgres), and the names in the order
/// of N. A name used twice gets the same number. `::` casts, quoted strings, quoted identifiers
/// and comments are left alone.
pub fn rewrite(sql: &str, backend: Backend) -> (String, Vec<String>) {
    let mut out = String::with_capacity(sql.len());
    let mut names: Vec<String> = Vec::new();
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' => {
                let end = (i + 1..chars.len())
                    .find(|&j| chars[j] == c)
                    .unwrap_or(chars.len() - 1);
                out.extend(&chars[i..=end]);
                i = end + 1;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                let end = (i..chars.len())
                    .find(|&j| chars[j] == '\n')
                    .unwrap_or(chars.len() - 1);
                out.extend(&chars[i..=end]);
                i = end + 1;
            }
            ':' if chars.get(i + 1) == Some(&':') => {
                out.push_str("::");
                i += 2;
            }
            ':' if chars
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_alphabetic() || *n == '_') =>
            {
                let end = (i + 1..chars.len())
                    .find(|&j| !(chars[j].is_ascii_alphanumeric() || chars[j] == '_'))
                    .unwrap_or(chars.len());
                let name: String = chars[i + 1..end].iter().collect();
                let n = match names.iter().position(|x| *x == name) {
                    Some(p) => p + 1,
                    None => {
                        names.push(name);
                        names.len()
                    }
                };
                match backend {
                    Backend::Sqlite => out.push_str(&format!("?{n}")),
                    Backend::Postgres => out.push_str(&format!("${n}")),
                }
                i = end;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    (out, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_names_and_leaves_the_rest() {
        let sql =
            "SELECT ':no', x::text FROM t -- :nor this\nWHERE a = :key AND b = :other OR c = :key";
        let (pg, names) = rewrite(sql, Backend::Postgres);
        assert_eq!(
            pg,
            "SELECT ':no', x::text FROM t -- :nor this\nWHERE a = $1 AND b = $2 OR c = $1"
        );
        assert_eq!(names, ["key", "other"]);
        let (lite, _) = rewrite(sql, Backend::Sqlite);
        assert!(lite.ends_with("a = ?1 AND b = ?2 OR c = ?1"));
    }
}
