//! IAM-style policy documents (key policies, bucket policies): our statements carry a
//! `Sid` starting with `Baseline`, and are merged into a live document by `Sid`, so the
//! statements someone else wrote stay.

use serde_json::{Value, json};

pub const VERSION: &str = "2012-10-17";

/// `live` with each of `ours` put in place of the live statement with its `Sid`, or
/// appended. Statements with other `Sid`s (or none) are kept as they are, in order.
pub fn merge_by_sid(live: Option<&Value>, ours: &[Value]) -> Value {
    let mut doc = live
        .filter(|v| v.is_object())
        .cloned()
        .unwrap_or_else(|| json!({ "Version": VERSION, "Statement": [] }));
    let mut statements: Vec<Value> = match doc.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        // A single statement may be written without the list.
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    for stmt in ours {
        let sid = &stmt["Sid"];
        match statements.iter_mut().find(|s| &s["Sid"] == sid) {
            Some(slot) => *slot = stmt.clone(),
            None => statements.push(stmt.clone()),
        }
    }
    doc["Statement"] = Value::Array(statements);
    if doc.get("Version").is_none() {
        doc["Version"] = json!(VERSION);
    }
    doc
}

/// Parses a policy as AWS returns it (a JSON string); None when absent or not JSON.
pub fn parse(text: Option<&str>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_statements_are_kept_and_ours_replaced_or_added() {
        let live = json!({
            "Version": VERSION,
            "Statement": [
                {"Sid": "TheirRead", "Effect": "Allow", "Action": "s3:GetObject"},
                {"Sid": "BaselineA", "Effect": "Allow", "Action": "old"}
            ]
        });
        let ours = [
            json!({"Sid": "BaselineA", "Effect": "Allow", "Action": "new"}),
            json!({"Sid": "BaselineB", "Effect": "Deny", "Action": "s3:*"}),
        ];
        let merged = merge_by_sid(Some(&live), &ours);
        let sids: Vec<&str> = merged["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect();
        assert_eq!(sids, ["TheirRead", "BaselineA", "BaselineB"]);
        assert_eq!(merged["Statement"][1]["Action"], "new");
        // Merging again changes nothing.
        assert_eq!(merge_by_sid(Some(&merged), &ours), merged);
    }

    #[test]
    fn no_policy_gives_ours_alone() {
        let ours = [json!({"Sid": "BaselineA"})];
        assert_eq!(
            merge_by_sid(None, &ours),
            json!({"Version": VERSION, "Statement": [{"Sid": "BaselineA"}]})
        );
    }
}
