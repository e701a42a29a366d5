//! The apply graph. Each node names the nodes it comes after; a node runs once all of
//! them have ended well, and everything else runs at once. A node that fails, or could
//! not even be observed, blocks exactly the nodes that come after it (directly or
//! through others), never an unrelated one.
//!
//! The graph of the shipped controls is checked when the crate is built ([`acyclic`] in
//! a `const` assertion); [`run`] still copes with a cycle or an unknown name at run
//! time, by blocking the nodes on the cycle and treating an unknown name as satisfied.

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;

/// How one node of the graph ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    Done,
    /// Its own work failed.
    Failed,
    /// It was not run; the reason names the node it waited for.
    Blocked(String),
}

/// Runs `work` once per node, each after the nodes it comes after. `work(key, None)`
/// does the node's work; `work(key, Some(reason))` is called instead when a node it
/// comes after did not end well, so that it can record why nothing was tried (its
/// result is ignored then). `known_failed` maps nodes that failed before the run
/// (their observation) to what happened; they are not run and block what comes after
/// them. A name in an `after` list that is neither a node nor known to have failed has
/// nothing to wait for. A panic in `work` is that node's failure.
pub async fn run<K, W, F>(
    nodes: Vec<(K, Vec<K>)>,
    known_failed: &BTreeMap<K, String>,
    work: W,
) -> BTreeMap<K, End>
where
    K: Ord + Clone + Display + Send + Sync + 'static,
    W: Fn(K, Option<String>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<(), String>> + Send + 'static,
{
    let (order, on_cycle) = topological(&nodes);
    let after: BTreeMap<K, Vec<K>> = nodes.into_iter().collect();
    let mut started: BTreeMap<K, Shared<BoxFuture<'static, End>>> = BTreeMap::new();
    for key in order.iter().chain(&on_cycle) {
        let deps = &after[key];
        let early: Option<String> = if on_cycle.contains(key) {
            Some("it is on a dependency cycle".to_owned())
        } else {
            deps.iter().find_map(|d| {
                known_failed
                    .get(d)
                    .map(|what| format!("{d}, which it depends on, {what}"))
            })
        };
        let waits: Vec<(K, Shared<BoxFuture<'static, End>>)> = deps
            .iter()
            .filter_map(|d| started.get(d).map(|f| (d.clone(), f.clone())))
            .collect();
        let node = key.clone();
        let work = work.clone();
        let future = async move {
            let blocked = match early {
                Some(reason) => Some(reason),
                None => {
                    let mut blocked = None;
                    for (dep, done) in waits {
                        let what = match done.await {
                            End::Done => continue,
                            End::Failed => "failed",
                            End::Blocked(_) => "was not attempted",
                        };
                        blocked = Some(format!("{dep}, which it depends on, {what}"));
                        break;
                    }
                    blocked
                }
            };
            let ran = AssertUnwindSafe(work(node, blocked.clone()))
                .catch_unwind()
                .await;
            match (blocked, ran) {
                (Some(reason), _) => End::Blocked(reason),
                (None, Ok(Ok(()))) => End::Done,
                (None, Ok(Err(_)) | Err(_)) => End::Failed,
            }
        };
        started.insert(key.clone(), future.boxed().shared());
    }
    let keys: Vec<K> = started.keys().cloned().collect();
    let ends = futures::future::join_all(started.into_values()).await;
    keys.into_iter().zip(ends).collect()
}

/// The nodes in an order where each comes after the nodes it names, and the nodes that
/// cannot be ordered (on a cycle, or after one).
fn topological<K: Ord + Clone>(nodes: &[(K, Vec<K>)]) -> (Vec<K>, Vec<K>) {
    let present: BTreeSet<&K> = nodes.iter().map(|(k, _)| k).collect();
    let mut placed: BTreeSet<K> = BTreeSet::new();
    let mut order = Vec::new();
    loop {
        let ready: Vec<K> = nodes
            .iter()
            .filter(|(k, _)| !placed.contains(k))
            .filter(|(_, deps)| {
                deps.iter()
                    .all(|d| !present.contains(d) || placed.contains(d))
            })
            .map(|(k, _)| k.clone())
            .collect();
        if ready.is_empty() {
            break;
        }
        for k in ready {
            placed.insert(k.clone());
            order.push(k);
        }
    }
    let rest = nodes
        .iter()
        .filter(|(k, _)| !placed.contains(k))
        .map(|(k, _)| k.clone())
        .collect();
    (order, rest)
}

/// The most nodes [`acyclic`] checks.
pub const MAX_NODES: usize = 256;

/// True when every name in an `after` list is one of the nodes. Const, so that the
/// registry checks it when the crate is built.
pub const fn names_known(nodes: &[(&str, &[&str])]) -> bool {
    let mut i = 0;
    while i < nodes.len() {
        let deps = nodes[i].1;
        let mut j = 0;
        while j < deps.len() {
            if index_of(nodes, deps[j]).is_none() {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

/// True when no node comes, directly or through others, after itself. Const, so that
/// the registry checks it when the crate is built.
/// Graphs of more than [`MAX_NODES`] nodes are refused.
pub const fn acyclic(nodes: &[(&str, &[&str])]) -> bool {
    // The longest chain ending at each node. On a graph without cycles it settles
    // within N rounds; on a cycle it grows for ever.
    const N_MAX: usize = MAX_NODES;
    let n = nodes.len();
    if n > N_MAX {
        return false;
    }
    let mut depth = [0usize; N_MAX];
    let mut round = 0;
    while round <= n {
        let mut changed = false;
        let mut i = 0;
        while i < n {
            let deps = nodes[i].1;
            let mut j = 0;
            while j < deps.len() {
                if let Some(d) = index_of(nodes, deps[j])
                    && depth[d] + 1 > depth[i]
                {
                    depth[i] = depth[d] + 1;
                    changed = true;
                }
                j += 1;
            }
            i += 1;
        }
        if !changed {
            return true;
        }
        round += 1;
    }
    false
}

const fn index_of(nodes: &[(&str, &[&str])], name: &str) -> Option<usize> {
    let mut i = 0;
    while i < nodes.len() {
        if str_eq(nodes[i].0, name) {
            return Some(i);
        }
        i += 1;
    }
    None
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    type Log = Arc<Mutex<Vec<String>>>;

    /// Runs a graph of named nodes; nodes in `fail` fail, nodes in `panic` panic. The
    /// log records "start x", "end x" and "blocked x: reason" in the order they happen.
    async fn go(
        nodes: &[(&'static str, &[&'static str])],
        known_failed: &[(&'static str, &str)],
        fail: &'static [&'static str],
        panic: &'static [&'static str],
    ) -> (BTreeMap<&'static str, End>, Vec<String>) {
        let log: Log = Arc::default();
        let nodes = nodes.iter().map(|(k, a)| (*k, a.to_vec())).collect();
        let known = known_failed
            .iter()
            .map(|(k, w)| (*k, (*w).to_owned()))
            .collect();
        let record = log.clone();
        let ends = run(nodes, &known, move |node: &'static str, blocked| {
            let log = record.clone();
            async move {
                if let Some(reason) = blocked {
                    log.lock()
                        .unwrap()
                        .push(format!("blocked {node}: {reason}"));
                    return Ok(());
                }
                log.lock().unwrap().push(format!("start {node}"));
                tokio::time::sleep(Duration::from_millis(20)).await;
                if panic.contains(&node) {
                    panic!("a bug in {node}");
                }
                log.lock().unwrap().push(format!("end {node}"));
                if fail.contains(&node) {
                    Err(format!("{node} broke"))
                } else {
                    Ok(())
                }
            }
        })
        .await;
        let log = log.lock().unwrap().clone();
        (ends, log)
    }

    fn blocked(by: &str, what: &str) -> End {
        End::Blocked(format!("{by}, which it depends on, {what}"))
    }

    #[tokio::test]
    async fn a_failure_blocks_exactly_what_comes_after_it() {
        let (ends, log) = go(
            &[
                ("key", &[]),
                ("buckets", &["key"]),
                ("trail", &["buckets", "key"]),
                ("rule", &[]),
                ("alarm", &["rule"]),
            ],
            &[],
            &["buckets"],
            &[],
        )
        .await;
        assert_eq!(ends["key"], End::Done);
        assert_eq!(ends["buckets"], End::Failed);
        assert_eq!(ends["trail"], blocked("buckets", "failed"));
        assert_eq!(ends["rule"], End::Done);
        assert_eq!(ends["alarm"], End::Done);
        assert!(!log.contains(&"start trail".to_owned()), "{log:?}");
        assert!(log.contains(&"blocked trail: buckets, which it depends on, failed".to_owned()));
    }

    #[tokio::test]
    async fn blocking_carries_through_the_chain() {
        let (ends, _) = go(
            &[("a", &[]), ("b", &["a"]), ("c", &["b"])],
            &[],
            &["a"],
            &[],
        )
        .await;
        assert_eq!(ends["b"], blocked("a", "failed"));
        assert_eq!(ends["c"], blocked("b", "was not attempted"));
    }

    #[tokio::test]
    async fn a_node_that_could_not_be_observed_blocks_its_dependents() {
        // The log buckets have nothing to change (no node) because they could not be
        // observed: the trail that writes to them must not be created.
        let (ends, log) = go(
            &[("trail", &["buckets"]), ("guardduty", &[])],
            &[(
                "buckets",
                "could not be observed (s3:HeadBucket failed: AccessDenied)",
            )],
            &[],
            &[],
        )
        .await;
        assert_eq!(
            ends["trail"],
            blocked(
                "buckets",
                "could not be observed (s3:HeadBucket failed: AccessDenied)"
            )
        );
        assert_eq!(ends["guardduty"], End::Done);
        assert!(!log.contains(&"start trail".to_owned()));
    }

    #[tokio::test]
    async fn a_dependency_with_nothing_to_do_is_satisfied() {
        let (ends, _) = go(&[("trail", &["buckets", "key"])], &[], &[], &[]).await;
        assert_eq!(ends["trail"], End::Done);
    }

    #[tokio::test]
    async fn a_node_starts_only_after_what_it_names_has_ended() {
        let (_, log) = go(
            &[("trail", &["buckets"]), ("buckets", &["key"]), ("key", &[])],
            &[],
            &[],
            &[],
        )
        .await;
        let at = |s: &str| log.iter().position(|l| l == s).unwrap();
        assert!(at("end key") < at("start buckets"), "{log:?}");
        assert!(at("end buckets") < at("start trail"), "{log:?}");
    }

    #[tokio::test]
    async fn unrelated_nodes_run_at_once() {
        let (_, log) = go(&[("a", &[]), ("b", &[]), ("c", &[])], &[], &[], &[]).await;
        // Every node started before any ended.
        assert!(log[..3].iter().all(|l| l.starts_with("start")), "{log:?}");
    }

    #[tokio::test]
    async fn a_cycle_blocks_its_nodes_and_what_follows_but_nothing_else() {
        let (ends, _) = go(
            &[("a", &["b"]), ("b", &["a"]), ("c", &["a"]), ("d", &[])],
            &[],
            &[],
            &[],
        )
        .await;
        assert!(matches!(ends["a"], End::Blocked(_)));
        assert!(matches!(ends["b"], End::Blocked(_)));
        assert!(matches!(ends["c"], End::Blocked(_)));
        assert_eq!(ends["d"], End::Done);
    }

    #[tokio::test]
    async fn a_panic_is_that_node_failure() {
        let (ends, _) = go(&[("a", &[]), ("b", &["a"]), ("c", &[])], &[], &[], &["a"]).await;
        assert_eq!(ends["a"], End::Failed);
        assert_eq!(ends["b"], blocked("a", "failed"));
        assert_eq!(ends["c"], End::Done);
    }

    #[test]
    fn the_build_time_checks_find_cycles_and_unknown_names() {
        assert!(acyclic(&[("a", &[]), ("b", &["a"]), ("c", &["a", "b"])]));
        assert!(!acyclic(&[("a", &["c"]), ("b", &["a"]), ("c", &["b"])]));
        assert!(!acyclic(&[("a", &["a"])]));
        assert!(names_known(&[("a", &[]), ("b", &["a"])]));
        assert!(!names_known(&[("a", &[]), ("b", &["ghost"])]));
    }
}
