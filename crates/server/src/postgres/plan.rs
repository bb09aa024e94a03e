//! What Vigie reads in a statement's plan (`EXPLAIN (FORMAT JSON,
//! VERBOSE)`, never run): its nodes as lines, and the sequential scans that
//! filter a table, with the columns they filter on, where an index would
//! answer instead.

use serde_json::Value;

/// A sequential scan with a filter.
#[derive(Debug, Clone, PartialEq)]
pub struct FilteredScan {
    pub schema: String,
    pub table: String,
    /// Columns the filter compares, equality first, without duplicates.
    pub columns: Vec<String>,
    pub filter: String,
}

fn nodes<'a>(plan: &'a Value, depth: usize, out: &mut Vec<(usize, &'a Value)>) {
    out.push((depth, plan));
    if let Some(children) = plan.get("Plans").and_then(Value::as_array) {
        for c in children {
            nodes(c, depth + 1, out);
        }
    }
}

/// The root node of `EXPLAIN (FORMAT JSON)`'s answer.
fn root(explained: &Value) -> Option<&Value> {
    explained.get(0)?.get("Plan")
}

fn text<'a>(node: &'a Value, key: &str) -> Option<&'a str> {
    node.get(key).and_then(Value::as_str)
}

/// The plan as lines: node type, relation, estimated rows, filter or index
/// condition; children indented.
pub fn lines(explained: &Value) -> Vec<String> {
    let mut all = Vec::new();
    if let Some(r) = root(explained) {
        nodes(r, 0, &mut all);
    }
    all.into_iter()
        .map(|(depth, n)| {
            let mut line = format!(
                "{}{}",
                "  ".repeat(depth),
                text(n, "Node Type").unwrap_or("?")
            );
            if let Some(index) = text(n, "Index Name") {
                line.push_str(&format!(" using {index}"));
            }
            if let Some(rel) = text(n, "Relation Name") {
                match text(n, "Schema") {
                    Some(schema) => line.push_str(&format!(" on {schema}.{rel}")),
                    None => line.push_str(&format!(" on {rel}")),
                }
            }
            if let Some(rows) = n.get("Plan Rows").and_then(Value::as_f64) {
                line.push_str(&format!(" (≈ {rows} rows)"));
            }
            for key in ["Index Cond", "Recheck Cond", "Filter"] {
                if let Some(cond) = text(n, key) {
                    line.push_str(&format!(" {key}: {cond}"));
                }
            }
            line
        })
        .collect()
}

/// The plan's sequential scans that filter their table.
pub fn filtered_scans(explained: &Value) -> Vec<FilteredScan> {
    let mut all = Vec::new();
    if let Some(r) = root(explained) {
        nodes(r, 0, &mut all);
    }
    all.into_iter()
        .filter(|(_, n)| text(n, "Node Type") == Some("Seq Scan"))
        .filter_map(|(_, n)| {
            let filter = text(n, "Filter")?;
            let table = text(n, "Relation Name")?;
            let alias = text(n, "Alias").unwrap_or(table);
            let columns = filter_columns(filter, alias);
            (!columns.is_empty()).then(|| FilteredScan {
                schema: text(n, "Schema").unwrap_or("public").to_owned(),
                table: table.to_owned(),
                columns,
                filter: filter.to_owned(),
            })
        })
        .collect()
}

/// The columns of `alias` a filter compares with a value: `(o.customer_id =
/// $1) AND (o.status <> 'x'::text)` gives `customer_id`, then `status`.
/// What is not a plain column (an expression, a function) is left out.
pub fn filter_columns(filter: &str, alias: &str) -> Vec<String> {
    const OPERATORS: [(&str, bool); 8] = [
        (" = ", true),
        (" <= ", false),
        (" >= ", false),
        (" < ", false),
        (" > ", false),
        (" ~~ ", false),
        (" <> ", false),
        (" IS ", false),
    ];
    let mut equal = Vec::new();
    let mut other = Vec::new();
    for clause in filter.split(" AND ") {
        let clause = clause.trim().trim_start_matches('(').trim_end_matches(')');
        let Some((lhs, is_equality)) = OPERATORS
            .iter()
            .find_map(|(op, eq)| clause.split_once(op).map(|(l, _)| (l, *eq)))
        else {
            continue;
        };
        let mut column = lhs.trim().trim_start_matches('(').trim_end_matches(')');
        if let Some((c, _cast)) = column.split_once("::") {
            column = c.trim_end_matches(')');
        }
        let column = column
            .strip_prefix(&format!("{alias}."))
            .unwrap_or(column)
            .trim_matches('"');
        let plain = !column.is_empty()
            && column
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !plain {
            continue;
        }
        let list = if is_equality { &mut equal } else { &mut other };
        if !list.iter().any(|c: &String| c == column) {
            list.push(column.to_owned());
        }
    }
    other.retain(|c| !equal.contains(c));
    equal.extend(other);
    equal
}

/// How many parameters (`$1` … `$n`) a normalised statement has.
pub fn parameters(text: &str) -> usize {
    let mut n = 0;
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        rest = &rest[i + 1..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(k) = digits.parse::<usize>() {
            n = n.max(k);
        }
    }
    n
}

/// An identifier as SQL writes it: as it is when plain lower case, quoted
/// otherwise.
pub fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && RESERVED.binary_search(&name).is_err();
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// PostgreSQL's reserved key words (those that cannot name a table or a
/// column unquoted, "reserved" and "reserved (can be function or type)" in
/// its SQL Key Words appendix), sorted.
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn explained() -> Value {
        json!([{"Plan": {
            "Node Type": "Aggregate",
            "Plan Rows": 1,
            "Plans": [{
                "Node Type": "Seq Scan", "Relation Name": "orders", "Schema": "public",
                "Alias": "o", "Plan Rows": 1000,
                "Filter": "((o.customer_id = $1) AND ((o.status)::text <> 'done'::text))"
            }, {
                "Node Type": "Index Scan", "Index Name": "users_pkey",
                "Relation Name": "users", "Schema": "public", "Alias": "users",
                "Plan Rows": 1, "Index Cond": "(users.id = o.user_id)"
            }]
        }}])
    }

    #[test]
    fn a_filtered_sequential_scan_names_its_table_and_columns() {
        let scans = filtered_scans(&explained());
        assert_eq!(
            scans,
            [FilteredScan {
                schema: "public".into(),
                table: "orders".into(),
                columns: vec!["customer_id".into(), "status".into()],
                filter: "((o.customer_id = $1) AND ((o.status)::text <> 'done'::text))".into(),
            }]
        );
        let l = lines(&explained());
        assert_eq!(l[0], "Aggregate (≈ 1 rows)");
        assert!(
            l[1].starts_with("  Seq Scan on public.orders (≈ 1000 rows) Filter:"),
            "{}",
            l[1]
        );
        assert_eq!(
            l[2],
            "  Index Scan using users_pkey on public.users (≈ 1 rows) Index Cond: (users.id = o.user_id)"
        );
    }

    #[test]
    fn expressions_are_not_columns_and_plans_without_scans_give_nothing() {
        assert!(filter_columns("(lower(email) = $1)", "u").is_empty());
        assert_eq!(filter_columns("(u.\"Email\" = $1)", "u"), ["Email"]);
        assert!(filtered_scans(&json!([{"Plan": {"Node Type": "Result"}}])).is_empty());
        assert!(filtered_scans(&json!({"not": "a plan"})).is_empty());
    }

    #[test]
    fn parameters_and_identifiers() {
        assert_eq!(parameters("SELECT $1, $12 FROM t WHERE a = $3"), 12);
        assert_eq!(parameters("SELECT 1"), 0);
        assert_eq!(ident("orders"), "orders");
        assert_eq!(ident("Order Items"), "\"Order Items\"");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        // Reserved key words are quoted: `user.idx` and `(order)` would not parse.
        assert_eq!(ident("user"), "\"user\"");
        assert_eq!(ident("order"), "\"order\"");
        assert_eq!(ident("orders_user"), "orders_user");
        assert!(
            RESERVED.windows(2).all(|w| w[0] < w[1]),
            "sorted for the search"
        );
    }
}
